"""The embedded default's broker (diabetes_center/broker.py): a message is published whole, so
a worker polling the queue folder never takes a half-written file (which stopped the worker
with a JSONDecodeError under bench monitoring --embedded)."""

import os
from queue import Empty

import pytest
from django.conf import settings
from kombu import Connection

from diabetes_center import broker
from diabetes_center.celery import app


def channel_in(folder):
    connection = Connection(
        "filesystem://",
        transport="diabetes_center.broker:Transport",
        transport_options={
            "data_folder_in": str(folder),
            "data_folder_out": str(folder),
            "control_folder": str(folder / "control"),
        },
    )
    return connection, connection.channel()


def test_a_reader_finds_nothing_until_the_message_is_whole(tmp_path, monkeypatch):
    connection, channel = channel_in(tmp_path)
    payload = {"body": "x" * 200_000, "headers": {"task": "monitoring.tasks.evaluate_patient"}}
    real_replace = os.replace
    checked = []

    def replace(src, dst):
        # The message is written but not yet published: a poll finds nothing to take.
        with pytest.raises(Empty):
            channel._get("monitoring")
        checked.append(os.path.getsize(src))
        real_replace(src, dst)

    monkeypatch.setattr(broker.os, "replace", replace)
    channel._put("monitoring", payload)
    assert checked and checked[0] > 200_000
    assert channel._get("monitoring") == payload
    assert not [name for name in os.listdir(tmp_path) if name.endswith(broker.PARTIAL_SUFFIX)]
    with pytest.raises(Empty):
        channel._get("monitoring")
    connection.release()


def test_messages_keep_their_order_and_queue(tmp_path):
    connection, channel = channel_in(tmp_path)
    for number in range(5):
        channel._put("monitoring" if number % 2 else "messages", {"n": number})
    assert [channel._get("monitoring")["n"] for _ in range(2)] == [1, 3]
    assert [channel._get("messages")["n"] for _ in range(3)] == [0, 2, 4]
    connection.release()


@pytest.mark.skipif(
    settings.CELERY_BROKER_URL != "filesystem://", reason="the embedded broker's setting"
)
def test_the_embedded_default_uses_it():
    with app.connection_for_write() as connection:
        assert isinstance(connection.transport, broker.Transport)
