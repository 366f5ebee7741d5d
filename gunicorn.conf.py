"""gunicorn settings read from the project folder (``gunicorn diabetes_center.wsgi``).

The access log, when turned on (``--access-logfile -``), records the path without its query
string: Nightscout clients may pass their secret as ``?token=…``, which must not be logged.
"""

import os

access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s" %(M)sms'


def child_exit(server, worker):
    """prometheus-client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, README
    "Operations"): a worker that exits leaves its counters to the sum; its live gauges go."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
