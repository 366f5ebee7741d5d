"""The embedded default's Celery broker: kombu's filesystem transport, each message published
whole.

kombu's own ``_put`` creates the message file in the queue folder and then writes it. A worker
listing the folder in between takes the empty file, fails to decode it and stops
("Unrecoverable error: JSONDecodeError"): seen with ``bench monitoring --embedded`` at 16
posts a second, when the web server publishes while the worker polls. Here a message is
written under a name no reader matches (``….msg.part``) and renamed into place: a reader sees
the whole file or none (a rename within one folder is atomic).
"""

from __future__ import annotations

import os
import uuid
from time import monotonic_ns

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

PARTIAL_SUFFIX = ".part"


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        """Put ``payload`` on ``queue``: written aside, then renamed. Named as kombu names it
        (readers take the oldest name first), with the clock in nanoseconds rather than
        milliseconds, so messages published within one millisecond keep their order."""
        name = f"{monotonic_ns()}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = final + PARTIAL_SUFFIX
        try:
            with open(partial, "wb", buffering=0) as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
