"""gunicorn's configuration for the portal (`gunicorn --config gunicorn.conf.py msp_portal.wsgi`),
used by the image, docker-compose.yml and the multi-host tests alike. Environment variables
tune it per host: GUNICORN_BIND (address:port), WEB_CONCURRENCY (worker processes),
GUNICORN_THREADS, GUNICORN_TIMEOUT (seconds a request may take), FORWARDED_ALLOW_IPS (the TLS
proxy's addresses, trusted for X-Forwarded-*).
https://docs.gunicorn.org/en/stable/settings.html
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# CPU-bound rendering and database waits: 2 per core + 1, at most 8 per host unless set.
workers = int(os.environ.get("WEB_CONCURRENCY", min(8, multiprocessing.cpu_count() * 2 + 1)))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# A direct Excel download of PORTAL_EXPORT_DIRECT_MAX_ROWS rows must fit; larger ones are jobs.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then: bounded memory over months of uptime.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = 200
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# Logs to stderr, collected with the application's (which PORTAL_LOG_FORMAT may make JSON).
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms request_id=%({x-request-id}o)s'
# The workers' heartbeat files in memory: a slow or overlay disk makes gunicorn think they hang.
_SHM = "/dev/shm"  # noqa: S108  (gunicorn's own recommendation for containers)
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR", _SHM if os.path.isdir(_SHM) else None)
