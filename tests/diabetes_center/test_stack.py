"""Requests run in one chunk of CPython's frame stack (diabetes_center/stack.py, #23)."""

from __future__ import annotations

import resource
import sys

from django.conf import settings
from django.test.signals import template_rendered
from django.urls import reverse

from diabetes_center.stack import RESERVED_SLOTS, OwnStackChunkMiddleware, call_in_own_chunk


def _leaf():
    return None


def _descend(depth: int, calls: int) -> None:
    if depth:
        return _descend(depth - 1, calls)
    for _ in range(calls):
        _leaf()
    return None


def _sweep() -> None:
    """A loop of calls at every depth from 0 to 300 frames: at some depth the calls cross the
    end of a 16 KiB stack chunk, wherever the caller's own frames leave it."""
    for depth in range(300):
        _descend(depth, 100)


def _page_faults(fn) -> int:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    fn()
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


def test_calls_in_one_chunk_do_not_map_a_chunk_per_call():
    _sweep()  # warm: code objects specialised, pages of the running chunk faulted in
    inside = _page_faults(lambda: call_in_own_chunk(_sweep))
    # One chunk per call: its ~57 KiB frame and the sweep's frames below it, ~20 pages.
    assert inside < 60, inside
    if sys.version_info < (3, 13):  # later versions keep a spare chunk (CPython gh-142183)
        # Without it each of the 100 calls at a chunk's end maps a fresh chunk and faults
        # its first page in (~580 faults here), the cost the middleware removes.
        outside = _page_faults(_sweep)
        assert outside > 5 * inside and outside >= 100, (outside, inside)


def test_the_call_passes_arguments_and_results_and_exceptions_through():
    assert call_in_own_chunk(dict, [("a", 1)], b=2) == {"a": 1, "b": 2}
    assert call_in_own_chunk(lambda fn: fn, 5) == 5  # a keyword named fn is the callee's
    try:
        call_in_own_chunk(int, "not a number")
    except ValueError as error:
        assert "not a number" in str(error)
    else:  # pragma: no cover
        raise AssertionError("the callee's exception was swallowed")
    assert call_in_own_chunk.__code__.co_nlocals > RESERVED_SLOTS


def _callers() -> list[str]:
    names, frame = [], sys._getframe(1)
    while frame is not None:
        names.append(frame.f_code.co_name)
        frame = frame.f_back
    return names


def test_the_middleware_is_first_so_the_whole_request_runs_in_the_chunk(client):
    assert settings.MIDDLEWARE[0] == "diabetes_center.stack.OwnStackChunkMiddleware"
    assert "call_in_own_chunk" in OwnStackChunkMiddleware(lambda request: _callers())(None)
    # A real request: its template renders below the chunk's frame.
    stacks = []

    def rendered(sender, **kwargs):
        stacks.append(_callers())

    template_rendered.connect(rendered)
    try:
        response = client.get(reverse("login"))
    finally:
        template_rendered.disconnect(rendered)
    assert response.status_code == 200
    assert stacks and all("call_in_own_chunk" in names for names in stacks)
