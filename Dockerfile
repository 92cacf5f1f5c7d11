# The portal's image: the web process (gunicorn, the default command), the Celery workers and
# beat all run from it (docker-compose.yml). Translations are compiled and static files
# collected at build time; the processes run as an unprivileged user.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORTAL_VAR_DIR=/app/var \
    STATIC_MANIFEST=true

# gettext for compilemessages at build time.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 portal \
    && useradd --system --uid 10001 --gid portal --home-dir /app --shell /usr/sbin/nologin portal

WORKDIR /app

# Only the runtime group of requirements.txt (the lines up to the first blank one): no test tools.
COPY requirements.txt /app/requirements.txt
RUN sed '/^$/q' requirements.txt > /tmp/requirements-runtime.txt \
    && pip install -r /tmp/requirements-runtime.txt \
    && rm /tmp/requirements-runtime.txt

COPY . /app
RUN DEBUG=false SECRET_KEY=image-build-only python manage.py compilemessages --ignore=.venv \
    && DEBUG=false SECRET_KEY=image-build-only python manage.py collectstatic --noinput \
    && mkdir -p /app/var/media \
    && chown -R portal:portal /app/var

USER portal
EXPOSE 8000
CMD ["gunicorn", "--config", "gunicorn.conf.py", "msp_portal.wsgi"]
