"""Each request runs in one chunk of CPython's frame stack (#23).

CPython keeps the frames of Python calls in chunks of 16 KiB. A call that does not fit in the
current chunk maps a new one (mmap), and the chunk is unmapped again (munmap) as soon as that
call returns. A loop that keeps calling a function at the depth of a chunk's end therefore maps
and unmaps a chunk, and faults its first page in, on every call: CPython issue gh-142183,
"Calls across stack chunks perform badly". CPython 3.13 and 3.14 keep one spare chunk since
2026; 3.11, the version this project runs on, and 3.12 take only security fixes and never will.

Django renders a table row by row a few dozen frames deep, below a dozen and a half
middlewares, so the end of the first chunk often falls inside that loop: on the triage page of
5,000 patients (`bench dashboard`, 2 cores, AMD EPYC) a request mapped and unmapped 961
chunks, spent 17 ms in the kernel and faulted 1,660 pages in. In one chunk, the bench's
triage pages went from 133-147 ms median (p95 153-174) to 80-85 ms (p95 95-98). Whether a
page is hit depends on its depth below the server's own frames, so it differs between the
test client, gunicorn's workers and pages. Celery's workers ran the report task without
crossing (2 chunks mapped in 8 s of `bench reports`), so tasks are left as they are.

The remedy: call the handler from a frame too large to share a chunk with anything
(`RESERVED_SLOTS` pointers, ~57 KiB). CPython opens a fresh chunk of 128 KiB for it (the
frame, rounded up with its 1,000-pointer margin to a power-of-two multiple of 16 KiB), and
every deeper call of the request fits in the ~70 KiB left: one mmap per request instead of
hundreds. The frame's unused locals are never read or set. What it costs is mapping, faulting
in and unmapping that one chunk: ~50 µs per call here, against tens of milliseconds for a
request caught at a chunk's end. Harmless on the versions that keep a spare chunk.
"""

from __future__ import annotations

from collections.abc import Callable

# Pointers in the handler's frame: 7,200 x 8 bytes is ~57 KiB, so with CPython's margin of
# 1,000 pointers the new chunk is 128 KiB (the next power-of-two multiple of 16 KiB above
# (7,200 + 1,000) x 8), leaving ~70 KiB, some 400 frames, for the call itself.
RESERVED_SLOTS = 7200


def _call(fn, /, *args, **kwargs):
    return fn(*args, **kwargs)


def _build(slots: int) -> Callable:
    """`_call` with ``slots`` local variables more than it uses (names no code reads or
    sets): every frame of a function holds a slot per local variable."""
    code = _call.__code__
    names = tuple(f"_unused_{i}" for i in range(slots))
    code = code.replace(
        co_name="call_in_own_chunk",
        co_qualname="call_in_own_chunk",
        co_varnames=code.co_varnames + names,
        co_nlocals=code.co_nlocals + slots,
    )
    return type(_call)(code, globals(), "call_in_own_chunk")


call_in_own_chunk = _build(RESERVED_SLOTS)
call_in_own_chunk.__doc__ = "fn(*args, **kwargs), called from a frame in a stack chunk of its own."


class OwnStackChunkMiddleware:
    """First in MIDDLEWARE: the rest of the request (every other middleware, the view and its
    templates) runs in one stack chunk."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return call_in_own_chunk(self.get_response, request)
