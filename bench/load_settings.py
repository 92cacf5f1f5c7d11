"""Settings of the load run's gunicorn (`manage.py bench_load`): the product's, with the
benchmark URLconf so that the admin changelist baseline (bench.admin_baseline) is served beside
the portal by the same workers. Never used by the product."""

from msp_portal.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
