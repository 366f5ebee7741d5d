"""What a long-running process does once it has loaded the project: the web server's workers
(`wsgi.py`, `asgi.py`) and Celery's (`celery.py`).

A process holds ~180,000 objects that live as long as it does: modules, classes, functions,
Django's models, URL patterns and templates. Python's collector walks every one of them in
each full collection, which comes every few heavy requests: ~60-90 ms here (2 cores), so one
population page in three took 230 ms instead of 130 (#23, measured through the Django test
client on 5,000 patients, `bench dashboard`). Moved to the collector's permanent generation
(`gc.freeze`), they are not walked again: a full collection then takes ~5 ms. Nor are their
pages written to, so processes forked after the freeze (Celery's pool; gunicorn's workers with
``--preload``) keep sharing them with their parent, the use the Python documentation gives.
"""

from __future__ import annotations

import gc


def freeze_loaded_objects() -> int:
    """Load what the first request would (every view module, through the URLconf), free the
    garbage of loading, and freeze what is left; the number of objects frozen. Objects made
    later are collected as before; calling this again freezes the ones alive by then too."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 (imports every view module)
    gc.collect()  # garbage frozen now would never be freed
    gc.freeze()
    return gc.get_freeze_count()
