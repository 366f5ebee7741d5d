"""Incremental reading of JSON exports: the elements of a top-level array, one at a time.

A top-level array (Nightscout entries, Tidepool records, a list of FHIR resources) is
decoded element by element with ``json.JSONDecoder.raw_decode`` over a sliding text
buffer, so memory holds one element plus a read chunk. A top-level object (a FHIR Bundle,
a single Nightscout entry) is decoded whole with the stdlib ``json`` module.

JSON nested beyond Python's recursion limit (``[[[[…`` a hundred thousand deep) makes the
stdlib decoder raise RecursionError; here it is what it is, an unreadable file
(``NESTED_TOO_DEEPLY``), so an upload of it fails with that reason instead of crashing.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterator

from ._records import RowError, UnreadableFile

_CHUNK = 64 * 1024
_DECODER = json.JSONDecoder()
NESTED_TOO_DEEPLY = "the JSON is nested too deeply to read"


class MalformedJson(Exception):
    """The JSON stops being valid after some elements were read."""


def each_element(text: io.TextIOBase, noun: str, handle) -> Iterator:
    """Yield what ``handle(shape, index, element)`` yields for each top-level element.

    Elements are numbered from 1 (the "line" of JSON records). Invalid JSON after some
    elements ends the file with one row error; the records before it stand.
    """
    shape, elements = top_level(text)
    index = 0
    try:
        for index, element in enumerate(elements, start=1):
            yield from handle(shape, index, element)
    except MalformedJson as exc:
        yield RowError(index + 1, f"the JSON is malformed after {noun} {index}: {exc}")


def top_level(text: io.TextIOBase) -> tuple[str, Iterator]:
    """Return ("array", iterator of elements) or ("object", iterator with the one object)."""
    buffer = text.read(_CHUNK)
    stripped = buffer.lstrip().lstrip("\ufeff").lstrip()
    while not stripped:
        more = text.read(_CHUNK)
        if not more:
            raise UnreadableFile("the file is empty")
        stripped = more.lstrip()
    if stripped[0] == "[":
        return "array", _elements(stripped[1:], text)
    if stripped[0] == "{":
        rest = text.read()
        try:
            value = json.loads(stripped + rest)
        except json.JSONDecodeError as exc:
            raise UnreadableFile(f"the JSON is malformed: {exc.msg} (position {exc.pos})") from None
        except RecursionError:
            raise UnreadableFile(NESTED_TOO_DEEPLY) from None
        return "object", iter([value])
    raise UnreadableFile("the file is not JSON (it must start with [ or {)")


def _elements(buffer: str, text: io.TextIOBase) -> Iterator:
    position = 0
    eof = False
    while True:
        # Skip whitespace and separators between elements.
        while True:
            while position < len(buffer) and buffer[position] in " \t\r\n,":
                position += 1
            if position < len(buffer) or eof:
                break
            buffer, position = buffer[position:] + text.read(_CHUNK), 0
            eof = position >= len(buffer)
        if position >= len(buffer):
            raise MalformedJson("the JSON array is not closed")
        if buffer[position] == "]":
            return
        while True:
            try:
                value, end = _DECODER.raw_decode(buffer, position)
                if end < len(buffer) or eof:
                    break  # a number cut at the buffer's end would decode short: read on
                problem = "truncated element"
            except json.JSONDecodeError as exc:
                problem = f"{exc.msg} (character {exc.pos})"
            except RecursionError:
                raise UnreadableFile(NESTED_TOO_DEEPLY) from None
            more = "" if eof else text.read(_CHUNK)
            if not more:
                if eof:
                    raise MalformedJson(problem)
                eof = True
                continue
            buffer, position = buffer[position:] + more, 0
        yield value
        position = end
        if position > _CHUNK:
            buffer, position = buffer[position:], 0


# --- strict value types -----------------------------------------------------------------


def shown(value) -> str:
    """A JSON value for a row error, cut short (a list or object can be huge)."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except RecursionError:  # decoded just below the limit, a few calls deeper here
        return "[nested too deeply to show]"
    return text if len(text) <= 40 else text[:37] + "..."


def number(value, what: str) -> float:
    """A JSON number as float; ValueError for booleans, strings, lists, objects, NaN, ±inf.

    >>> number(5, "sgv"), number(7.5, "value")
    (5.0, 7.5)
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{what} {shown(value)} is not a number")
    try:
        result = float(value)
    except OverflowError:  # an integer too large for a float
        raise ValueError(f"{what} {shown(value)} is not a plausible number") from None
    if not math.isfinite(result):
        raise ValueError(f"{what} {shown(value)} is not a finite number")
    return result


def obj(value) -> dict:
    """``value`` when it is a JSON object, else an empty one (a wrong shape reads as absent)."""
    return value if isinstance(value, dict) else {}


def array(value) -> list:
    """``value`` when it is a JSON array, else an empty one."""
    return value if isinstance(value, list) else []


def text(value) -> str:
    """``value`` when it is a JSON string, else ""."""
    return value if isinstance(value, str) else ""
