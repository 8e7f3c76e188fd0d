# The portal's one image: web (gunicorn), worker and beat run it with different commands.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    UV_PROJECT_ENVIRONMENT=/opt/venv PATH="/opt/venv/bin:$PATH" \
    DJANGO_ENV=production PORTAL_VAR_DIR=/var/lib/portal PORTAL_STATIC_ROOT=/app/staticfiles

# WeasyPrint needs Pango and HarfBuzz; fonts for readable PDFs.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/* \
 && pip install --no-cache-dir uv \
 && useradd --system --create-home --home-dir /var/lib/portal portal

WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project
COPY . .
# collectstatic needs settings to load; the real secret comes from the environment at run time. The files
# go into the image (PORTAL_STATIC_ROOT), not the data volume, so each new image brings its own.
RUN DJANGO_SECRET_KEY=build-only-not-used-at-runtime-0123456789-abcdefghijklmnopqrstuvwxyz \
    DJANGO_ALLOWED_HOSTS=build python manage.py collectstatic --noinput -v0 \
 && chown -R portal /var/lib/portal
USER portal
EXPOSE 8000
CMD ["gunicorn", "portal.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "2", "--access-logfile", "-"]
