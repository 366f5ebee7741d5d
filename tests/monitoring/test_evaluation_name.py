"""The evaluation task's name is the one /health/ measures the lag of (outbox.pipeline)."""

from monitoring.tasks import evaluate_patient
from outbox.pipeline import EVALUATION_TASK


def test_health_watches_the_task_that_monitoring_enqueues():
    assert evaluate_patient.name == EVALUATION_TASK
