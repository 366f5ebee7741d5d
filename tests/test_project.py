"""Project-wide checks: admin coverage, production settings, schema, static assets."""

import os
import subprocess
import sys
from pathlib import Path

from django.apps import apps
from django.contrib import admin
from django.urls import reverse

ROOT = Path(__file__).resolve().parent.parent


def test_it_registers_every_model_in_the_admin():
    ours = [
        model
        for model in apps.get_models()
        if model._meta.app_label
        in {"accounts", "patients", "readings", "reports", "care_plans", "visits"}
    ]
    missing = [model.__name__ for model in ours if not admin.site.is_registered(model)]
    assert ours and not missing


def _production_env(**extra) -> dict:
    # The browser tests' DJANGO_ALLOW_ASYNC_UNSAFE must not leak into production checks.
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return {**env, **extra}


def test_it_passes_the_deploy_check_in_production_mode():
    env = {
        **_production_env(),
        "DEBUG": "0",
        "SECRET_KEY": "x" * 64 + "-a-long-random-production-secret-key-value",
        "ALLOWED_HOSTS": "diabetes.example.org",
        "DJANGO_SETTINGS_MODULE": "diabetes_center.settings",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_it_refuses_production_mode_without_a_secret_key():
    env = _production_env(DEBUG="0", DJANGO_SETTINGS_MODULE="diabetes_center.settings")
    env.pop("SECRET_KEY", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr


def _frozen_after(code: str) -> int:
    """gc.get_freeze_count() after `code` runs in a fresh process on the project's settings."""
    env = _production_env(DJANGO_SETTINGS_MODULE="diabetes_center.settings")
    done = subprocess.run(
        [sys.executable, "-c", code + "\nimport gc; print(gc.get_freeze_count())"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout.split()[-1])


def test_web_and_celery_workers_freeze_what_they_have_loaded():
    # #23: a full collection walks every live object, and the ~180,000 a loaded process holds
    # made every few heavy pages 60-90 ms slower; the web server's workers (wsgi.py, with the
    # view modules loaded) and Celery's (at worker_init, before the pool forks) freeze them
    # (diabetes_center/startup.py). A plain Django process freezes nothing.
    assert _frozen_after("import django; django.setup()") == 0
    web = "import sys, diabetes_center.wsgi; assert 'workspace.views' in sys.modules"
    assert _frozen_after(web) > 50_000
    worker = (
        "import django; django.setup()\n"
        "from celery import signals; from diabetes_center.celery import app\n"
        "signals.worker_init.send(sender=None)"
    )
    assert _frozen_after(worker) > 50_000


def test_it_serves_the_openapi_schema(client, alice):
    client.force_login(alice)
    response = client.get(reverse("api-schema"))
    assert response.status_code == 200
    assert b"/api/v1/patients/" in response.content


def test_it_serves_htmx_and_plotly_locally():
    from django.contrib.staticfiles import finders

    assert finders.find("django_htmx/htmx-2.min.js")
    assert finders.find("vendor/plotly.min.js")
    assert finders.find("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")


def test_it_marks_strings_only_with_names_makemessages_finds():
    """xgettext finds gettext, gettext_lazy, pgettext, ngettext… and ``_``, not other aliases:
    ``gettext_lazy as _lazy`` left the workspace tabs out of the catalogue, so they stayed
    English in Chinese."""
    import re

    alias = re.compile(r"import .*\b(\w*gettext\w*) as (\w+)")
    root = Path(__file__).resolve().parent.parent
    wrong = [
        f"{path.relative_to(root)}: {m.group(0)}"
        for path in root.glob("*/**/*.py")
        # not virtualenvs (.venv, bench/.peers-venv*: other people's code) nor node_modules
        if not any(part.startswith(".") for part in path.relative_to(root).parts)
        and "node_modules" not in path.parts
        for m in alias.finditer(path.read_text(encoding="utf-8"))
        if m.group(2) != "_"
    ]
    assert wrong == []


def test_it_names_the_workspace_tabs_in_chinese(client, alice, patient):
    alice.language = "zh-hans"
    alice.save()
    client.force_login(alice)
    page = client.get(reverse("patients-detail", args=[patient.pk])).content.decode()
    assert "概览" in page and "每日视图" in page and "报告" in page
    assert ">Overview<" not in page and ">Daily view<" not in page


def test_no_template_writes_a_glucose_threshold():
    """Thresholds come from the plan or the consensus bands (``bands``, accounts.display), in
    the viewer's unit: a template's own "54 mg/dL" or ``70|glucose`` ignores both."""
    import re

    root = Path(__file__).resolve().parent.parent / "templates"
    literal = re.compile(
        r"(?<![\w.#-])(54|70|180|250)(\|glucose| ?mg/dL)|(!=|==|<|>) ?(54|70|180|250)\b(?! ?%)"
    )
    found = [
        f"{path.relative_to(root)}: {m.group(0)}"
        for path in root.rglob("*.html")
        for m in literal.finditer(path.read_text(encoding="utf-8"))
    ]
    assert found == []
