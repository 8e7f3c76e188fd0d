import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
application = get_wsgi_application()

# Refuse to start, with a clear message, rather than answer 500 on every page (portal/checks.py).
from portal.checks import require_collected_static_files  # noqa: E402 - needs the settings loaded above

require_collected_static_files()
