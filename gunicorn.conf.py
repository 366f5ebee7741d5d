"""gunicorn settings read from the project folder (``gunicorn diabetes_center.wsgi``).

The access log, when turned on (``--access-logfile -``), records the path without its query
string: Nightscout clients may pass their secret as ``?token=…``, which must not be logged.
"""

access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s" %(M)sms'
