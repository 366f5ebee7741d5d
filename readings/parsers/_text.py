"""Text: folding for matching, the alias tables (header words per role, in files), decoding a
binary stream incrementally, CSV rows, and header recognition by alias tables.

Nothing here knows about a particular device. Everything streams: text is decoded
incrementally from a binary stream and rows are produced one at a time.
"""

from __future__ import annotations

import codecs
import csv
import functools
import io
import json
import re
import unicodedata
from collections.abc import Callable, Iterable
from pathlib import Path

from ._records import UnreadableFile

# --- text --------------------------------------------------------------------------------


def fold_text(text: str) -> str:
    """Lower-case, strip accents and squeeze spaces, for header and keyword matching.

    >>> fold_text("  Type d'Événement ")
    "type d'evenement"
    """
    if text.isascii():  # nothing to decompose or strip (the usual case, once per row)
        return " ".join(text.lower().split())
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.lower().replace("\ufeff", "").split())


# Alias tables (header words per role, marker words) are data: aliases/<name>.json next to
# this module, so a new language is new words in a file, not new code. Words are folded
# on loading the same way as header cells are when matched.
ALIASES_DIR = Path(__file__).with_name("aliases")


def load_aliases(name: str) -> dict:
    """The alias file ``aliases/<name>.json`` (keys starting with "_" are comments)."""
    with open(ALIASES_DIR / f"{name}.json", encoding="utf-8") as file:
        doc = json.load(file)
    return {key: value for key, value in doc.items() if not key.startswith("_")}


def fold_alias(alias: str) -> str:
    """Fold each "+" fragment of an alias as header cells are folded, keeping "=".

    >>> fold_alias("=Gerät"), fold_alias("Kohlenhydrate+Gramm")
    ('=gerat', 'kohlenhydrate+gramm')
    """
    exact = alias.startswith("=")
    folded = "+".join(fold_text(part) for part in alias.lstrip("=").split("+"))
    return "=" + folded if exact else folded


def alias_table(columns: dict[str, list[str]]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """A role table for `match_columns` from a {role: [aliases]} mapping (order kept)."""
    return tuple(
        (role, tuple(dict.fromkeys(fold_alias(a) for a in aliases)))
        for role, aliases in columns.items()
    )


def sniff_encoding(head: bytes) -> str:
    """Pick a codec from the first bytes: BOMs, UTF-16 without BOM, UTF-8, else cp1252."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith(codecs.BOM_UTF16_LE) or head.startswith(codecs.BOM_UTF16_BE):
        return "utf-16"
    sample = head[:4096]
    if len(sample) >= 4:
        even_nuls = sample[0::2].count(0)
        odd_nuls = sample[1::2].count(0)
        half = len(sample) // 2
        if odd_nuls > half * 0.4 and even_nuls < half * 0.1:
            return "utf-16-le"
        if even_nuls > half * 0.4 and odd_nuls < half * 0.1:
            return "utf-16-be"
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is still UTF-8.
        if exc.start >= len(sample) - 3:
            return "utf-8"
        return "cp1252"


def decode_head(head: bytes) -> str:
    """Decode the first bytes of a file for format detection; raise if it is not text."""
    if not head.strip():
        raise UnreadableFile("the file is empty")
    encoding = sniff_encoding(head)
    text = head.decode(encoding, errors="replace")
    text = text.lstrip("\ufeff")
    controls = sum(1 for c in text[:4096] if ord(c) < 32 and c not in "\r\n\t")
    if "\x00" in text or controls > len(text[:4096]) * 0.01 + 2:
        raise UnreadableFile("the file is not text (binary content): not a device export")
    if text.count("\ufffd") > len(text) * 0.05:
        raise UnreadableFile("the file is not readable text in any known encoding")
    return text


class PrefixedStream(io.RawIOBase):
    """A binary stream that first replays `head` (already read for detection), then the rest."""

    def __init__(self, head: bytes, rest: io.BufferedIOBase | io.RawIOBase):
        self._head = memoryview(head)
        self._pos = 0
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        if self._pos < len(self._head):
            n = min(len(buffer), len(self._head) - self._pos)
            buffer[:n] = self._head[self._pos : self._pos + n]
            self._pos += n
            return n
        data = self._rest.read(len(buffer))
        if not data:
            return 0
        buffer[: len(data)] = data
        return len(data)


def text_stream(binary: io.RawIOBase, encoding: str) -> io.TextIOWrapper:
    """Incrementally decoded text; `newline=""` keeps CRLF for the csv module to handle."""
    return io.TextIOWrapper(
        io.BufferedReader(binary, buffer_size=65536),
        encoding=encoding,
        errors="replace",
        newline="",
    )


def sniff_delimiter(line: str) -> str:
    """The most frequent of ; , and tab outside quotes in a header line."""
    unquoted = re.sub(r'"[^"]*"', "", line)
    counts = {d: unquoted.count(d) for d in (",", ";", "\t")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def csv_rows(text, delimiter: str, first_line: int = 1) -> CsvRows:
    """Yield (1-based line number, cells) for every non-blank row, one at a time; the first
    line read is line ``first_line``."""
    return CsvRows(text, delimiter, first_line)


class CsvRows:
    """``csv_rows``' iterator; ``lines_read`` is how many physical lines it has consumed."""

    def __init__(self, text, delimiter: str, first_line: int = 1):
        self._reader = csv.reader(text, delimiter=delimiter)
        self._offset = first_line - 1

    def __iter__(self) -> CsvRows:
        return self

    def __next__(self) -> tuple[int, list[str]]:
        reader = self._reader
        while True:
            start = reader.line_num + 1
            cells = list(map(str.strip, next(reader)))
            if not any(cells):
                continue
            if cells[0].startswith("\ufeff"):
                cells[0] = cells[0].lstrip("\ufeff")
            return start + self._offset, cells

    @property
    def lines_read(self) -> int:
        return self._reader.line_num


def csv_cells(line: str, delimiter: str) -> list[str] | None:
    """One physical line without quotes as ``csv_rows`` gives its cells (None: a blank row)."""
    for cells in csv.reader([line], delimiter=delimiter):
        cells = list(map(str.strip, cells))
        if not any(cells):
            return None
        if cells[0].startswith("\ufeff"):
            cells[0] = cells[0].lstrip("\ufeff")
        return cells
    return None


# --- header recognition by alias tables ----------------------------------------------------


def match_columns(
    header: list[str], roles: Iterable[tuple[str, tuple[str, ...]]]
) -> dict[str, int]:
    """Map roles to column indexes using alias tables.

    `roles` is an ordered table ``(role, aliases)``; for each header cell the first role
    with a matching alias wins, so list specific roles before general ones. An alias
    matches when all its "+"-separated fragments occur in the folded header cell; an
    alias starting with "=" must equal the whole cell.

    >>> match_columns(["Gerät", "Gerätezeitstempel"], [("timestamp", ("zeitstempel",)),
    ...     ("device", ("=gerat",))])
    {'device': 0, 'timestamp': 1}
    """
    roles = tuple(roles)
    try:
        role_for = _role_finder(roles)
    except TypeError:  # an unhashable table (lists inside): read it afresh
        role_for = _role_finder.__wrapped__(roles)
    found: dict[str, int] = {}
    for index, cell in enumerate(header):
        role = role_for(fold_text(cell))
        if role is not None:
            found.setdefault(role, index)
    return found


_ROLE_MEMO_SIZE = 1024  # folded header cells remembered per alias table


def _has_letters(text: str) -> bool:
    return any(ch.isalpha() for ch in text)


@functools.lru_cache(maxsize=16)
def _role_finder(roles: tuple) -> Callable[[str], str | None]:
    """The role of a folded header cell under one alias table (None: no role), memoized.

    Format detection tries every table on every line of a file's head, so the same cells
    ("", "EGV", a device name) are looked up thousands of times.
    """
    table = [
        (
            role,
            {alias[1:] for alias in aliases if alias.startswith("=")},
            [alias.split("+") for alias in aliases if not alias.startswith("=")],
        )
        for role, aliases in roles
    ]
    memo: dict[str, str | None] = {}

    def role_for(folded: str) -> str | None:
        try:
            return memo[folded]
        except KeyError:
            pass
        found = None
        for role, exact, fragments in table:
            if folded in exact or any(all(f in folded for f in parts) for parts in fragments):
                found = role
                break
        # Remember header words and letter-free cells (numbers, dates, ""), never other text:
        # a file's head can hold a patient's name, which must not outlive the upload.
        if len(memo) < _ROLE_MEMO_SIZE and (found is not None or not _has_letters(folded)):
            memo[folded] = found
        return found

    return role_for


@functools.lru_cache(maxsize=4)
def _folded_head(text: str) -> str:
    return fold_text(text)


def mentions_any(text: str, roles: Iterable[tuple[str, tuple[str, ...]]], wanted) -> bool:
    """Whether the folded `text` contains an alias of one of the `wanted` roles anywhere.

    A cheap first test for format detection: a file whose head never mentions, say, a
    record-type column cannot have that header, so no line needs to be split and matched.
    """
    folded = _folded_head(text)
    for role, aliases in roles:
        if role in wanted:
            for alias in aliases:
                if all(part in folded for part in alias.lstrip("=").split("+")):
                    return True
    return False


def cell(cells: list[str], columns: dict[str, int], role: str) -> str:
    index = columns.get(role)
    if index is None or index >= len(cells):
        return ""
    return cells[index]
