"""Test settings: the real settings plus speed switches. DATABASE_URL and CELERY_BROKER_URL
still come from the environment, so the same suite runs on SQLite and on PostgreSQL + Redis."""

import os
import tempfile

os.environ.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="dc-test-var-"))

from diabetes_center.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Unit tests run tasks eagerly; tests marked `broker` start a real worker instead.
CELERY_TASK_ALWAYS_EAGER = os.environ.get("CELERY_TASK_ALWAYS_EAGER", "1") == "1"
CELERY_TASK_EAGER_PROPAGATES = True
MEDIA_ROOT = VAR_DIR / "media"  # noqa: F405
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
LANGUAGE_CODE = "en"
# django-axes needs the request in authenticate(), which the test client's login() does not
# pass; lockout tests turn it back on (tests/accounts/test_sign_in.py).
AXES_ENABLED = False
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
# Generous limits so the suite is never throttled; throttle tests set their own.
THROTTLE_RATES = {key: "100000/minute" for key in THROTTLE_RATES}  # noqa: F405
# The suite's tests run inside a transaction that never commits, so a refresh left for after
# the commit would never run: refresh triage inside the writer's transaction, as PostgreSQL
# does. tests/workspace/test_triage_after_commit.py checks the after-commit path itself.
TRIAGE_REFRESH_AFTER_COMMIT = False
