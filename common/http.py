"""Small HTTP helpers shared by pages and the API."""

import re

from django.utils.http import content_disposition_header

UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


def download_disposition(filename: str, *, inline: bool = False) -> str:
    """A ``Content-Disposition`` value whose file name cannot break the header.

    Anything but letters, digits, ``.``, ``_`` and ``-`` becomes ``_`` (MRNs stored before
    validation may hold quotes or line breaks: a CR/LF would split the header, a quote
    would end the name).

    >>> download_disposition('a"b\r\nSet-Cookie: x.csv')
    'attachment; filename="a_b_Set-Cookie_x.csv"'
    """
    safe = UNSAFE_FILENAME.sub("_", filename).strip("._") or "download"
    return content_disposition_header(not inline, safe)
