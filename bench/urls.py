"""The benchmark's URLconf: the portal's own URLs plus the admin baseline (bench.admin_baseline).
Used only by `manage.py bench` (override_settings(ROOT_URLCONF=...)), never by the product."""

from django.urls import include, path

from .admin_baseline import site

urlpatterns = [
    path("bench-admin/", site.urls),
    path("", include("msp_portal.urls")),
]
