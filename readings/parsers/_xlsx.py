"""Spreadsheet exports (Dexcom Clarity and LibreView ``.xlsx``): rows streamed as CSV text.

The workbook is read with openpyxl's read-only mode, which parses the sheet's XML as a
stream: memory holds one row, whatever the file's size. Each row of the first sheet with
data becomes one comma-separated line, so detection and the CSV parsers apply unchanged.
Dates become ``YYYY-MM-DD HH:MM:SS`` (year first, so no day/month guess), whole numbers
lose their ``.0``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, datetime, time
from typing import BinaryIO

from ._records import UnreadableFile

ZIP_MAGIC = b"PK\x03\x04"


def is_xlsx(head: bytes) -> bool:
    return head.startswith(ZIP_MAGIC)


class LineStream(io.TextIOBase):
    """A read-only text stream over generated lines (``readline``, ``read``, iteration)."""

    def __init__(self, lines: Iterator[str]):
        self._lines = lines
        self._buffer = ""

    def readable(self) -> bool:
        return True

    def readline(self, size: int = -1) -> str:
        while "\n" not in self._buffer:
            more = next(self._lines, None)
            if more is None:
                line, self._buffer = self._buffer, ""
                return line
            self._buffer += more
        end = self._buffer.index("\n") + 1
        line, self._buffer = self._buffer[:end], self._buffer[end:]
        return line

    def read(self, size: int = -1) -> str:
        parts = [self._buffer]
        total = len(self._buffer)
        self._buffer = ""
        while size < 0 or total < size:
            line = next(self._lines, None)
            if line is None:
                break
            parts.append(line)
            total += len(line)
        text = "".join(parts)
        if 0 <= size < len(text):
            text, self._buffer = text[:size], text[size:]
        return text

    def __iter__(self):
        return self

    def __next__(self) -> str:
        line = self.readline()
        if not line:
            raise StopIteration
        return line


def csv_lines(binary: BinaryIO) -> Iterator[str]:
    """The first non-empty sheet's rows as CSV lines; UnreadableFile if not a workbook."""
    try:
        from openpyxl import load_workbook

        workbook = load_workbook(binary, read_only=True, data_only=True)
    except Exception as exc:  # a zip that is not a workbook, or a damaged one
        raise UnreadableFile(f"the file is not a readable .xlsx workbook ({exc})") from None
    return _rows_as_lines(workbook)


def _rows_as_lines(workbook) -> Iterator[str]:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    try:
        for sheet in workbook.worksheets:
            wrote = False
            for row in sheet.iter_rows(values_only=True):
                writer.writerow([_text(value) for value in row])
                line = out.getvalue()
                out.seek(0)
                out.truncate()
                if line.strip(",\n"):
                    wrote = True
                    yield line
            if wrote:
                return
    finally:
        workbook.close()


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M:%S")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
