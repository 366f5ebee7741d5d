"""The shared low floor: what every app needs for HTTP and the API (no app imports here).

| module | what it holds |
|---|---|
| `api.py` | the REST API's exception handler, paginated-schema helper and shared answers |
| `http.py` | download headers (`download_disposition`) |
| `dates.py` | the calendar a request may name (`EARLIEST_DAY` .. `LATEST_DAY`) and its parsers |
"""
