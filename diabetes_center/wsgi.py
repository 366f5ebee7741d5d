import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "diabetes_center.settings")
application = get_wsgi_application()

from diabetes_center.startup import freeze_loaded_objects  # noqa: E402 (needs Django set up)

freeze_loaded_objects()
