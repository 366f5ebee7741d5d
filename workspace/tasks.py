"""Triage tasks: thin and safe to run twice (an up-to-date entry is not stale any more)."""

from celery import shared_task

from workspace.triage import triage_refresh_stale


# The name is kept from before the workspace split: beat rows in the database refer to it.
@shared_task(name="patients.tasks.refresh_triage_window", acks_late=True, ignore_result=True)
def refresh_triage_window() -> int:
    """The beat task ("patients: triage window", hourly): move each patient's 14-day window
    at their local midnight and raise "no data" when their last reading turns 3 days old."""
    return triage_refresh_stale()
