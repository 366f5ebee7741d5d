"""A logging filter that keeps credentials out of logs.

Nightscout clients may send their secret or device token as ``?token=…`` (the protocol allows
it); ``runserver``'s request log and any message quoting a URL would write it to disk. The
filter rewrites such values to ``token=[redacted]`` in every record it sees.
"""

import logging
import re

SECRET_PARAMETER = re.compile(r"((?:^|[?&;\s])(?:token|api[-_]?secret|secret)=)[^&\s\"']+", re.I)


def redact(text: str) -> str:
    """
    >>> redact("GET /ns/k/api/v1/entries.json?count=2&token=dt_abc123 HTTP/1.1")
    'GET /ns/k/api/v1/entries.json?count=2&token=[redacted] HTTP/1.1'
    """
    return SECRET_PARAMETER.sub(r"\1[redacted]", text)


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken record is logging's problem, not ours
            return True
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True
