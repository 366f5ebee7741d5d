"""Fixed-shape reads compiled to SQL once per database, then run with new values (#23).

Building a queryset and compiling it to SQL costs Django 0.1-0.3 ms of Python: more than
the database spends answering a one-row lookup. A read that runs on every report with the
same shape (the patient by id, their newest report, the care team) is compiled once per
database alias and then run with the values of the call: the same SQL, the same parameters
and the same converters as the queryset would give; rows come back as the queryset gives them
(model instances with their select_related objects and annotations, or value tuples for
``values_list``).

A value is put straight into the compiled parameters only where the queryset compiles it to
itself (ids on every backend; datetimes on PostgreSQL, which takes them as they are). Where
a backend adapts it (SQLite writes datetimes as text), the read is built and compiled on each
call, exactly as before. The database is chosen per call (``router.db_for_read``), so a read
inside ``common.replicas.on_replica`` still goes to the replica.

>>> newest = CompiledRead(lambda pk: Report.objects.filter(patient_id=pk).order_by("-pk")[:1])
>>> newest.first(7)  # doctest: +SKIP
<Report: ...>
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections.abc import Callable

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import connections, router
from django.db.models import QuerySet
from django.db.models.query import (
    FlatValuesListIterable,
    ModelIterable,
    ValuesListIterable,
    get_related_populators,
)

# Stand-ins the read is compiled with, found again in the compiled parameters (exactly once
# each, else the read is built per call): integers within every integer field's range (Django
# compiles an out-of-range comparison to no query at all), datetimes in year 1, text with a
# NUL.
_INT_MARKER = 32_101
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_DATETIME_MARKER = dt.datetime(1, 1, 1, 0, 0, 7, 301_934, tzinfo=dt.UTC)


def _markers(kinds: tuple[type, ...]) -> list:
    def marker(kind: type, i: int):
        if kind is int:
            return _INT_MARKER + i
        if kind is str:
            return f"\x00compiled-read-{i}"
        if kind is dt.datetime:
            return _DATETIME_MARKER + dt.timedelta(seconds=i)
        raise TypeError(f"no marker for {kind}")

    return [marker(kind, i) for i, kind in zip(itertools.count(), kinds)]


def _same(param, marker) -> bool:
    """Whether a compiled parameter is the marker itself (or, for an integer, the marker in
    the backend's integer type)."""
    if type(marker) is int:
        return isinstance(param, int) and not isinstance(param, bool) and param == marker
    return type(param) is type(marker) and param == marker


class _Compiled:
    """One database's compiled read: SQL, parameters with the slots of the call's values,
    and the compiler (its select list and converters turn rows into results)."""

    def __init__(self, queryset: QuerySet, markers: list, using: str):
        compiler = queryset.query.get_compiler(using=using)
        self.compiler = compiler
        try:
            self.sql, params = compiler.as_sql()
        except (EmptyResultSet, FullResultSet):  # a marker ruled the query out: build per call
            self.slots = None
            return
        self.params = list(params)
        self.slots = []
        query = queryset.query
        names = [*query.extra_select, *query.values_select, *query.annotation_select]
        plain = (
            queryset._iterable_class in (ModelIterable, ValuesListIterable, FlatValuesListIterable)
            and not queryset._prefetch_related_lookups
            and not queryset._known_related_objects
        )
        self.flat = queryset._iterable_class is FlatValuesListIterable
        plain = plain and not compiler.has_extra_select  # (ordering columns past the select)
        if not plain or (queryset._fields is not None and list(queryset._fields) != names):
            self.slots = None  # a shape the iterables would reorder or add to: build per call
            return
        for marker in markers:
            found = [i for i, p in enumerate(self.params) if _same(p, marker)]
            if len(found) != 1:  # adapted by this backend (or used twice): build per call
                self.slots = None
                return
            # An integer the backend typed (PostgreSQL: psycopg's Int2/Int4/Int8 for integer
            # fields) is typed the same way for each call's value.
            kind = type(self.params[found[0]])
            self.slots.append((found[0], None if kind is type(marker) else kind))
        self.fields = [s[0] for s in compiler.select[: compiler.col_count]]
        self.converters = compiler.get_converters(self.fields)
        self.model_fields = None
        if queryset._iterable_class is ModelIterable:
            # Model rows as ModelIterable makes them: the model's columns, the related
            # objects of select_related (their populators, made for this database), then
            # the annotations set as attributes.
            info = compiler.klass_info
            first, last = info["select_fields"][0], info["select_fields"][-1] + 1
            self.model_span = (first, last)
            self.model_fields = [s[0].target.attname for s in compiler.select[first:last]]
            self.related = get_related_populators(info, compiler.select, using)
            self.annotations = list((compiler.annotation_col_map or {}).items())

    def with_values(self, values: tuple) -> list:
        params = list(self.params)
        for (slot, kind), value in zip(self.slots, values, strict=True):
            params[slot] = value if kind is None else kind(value)
        return params


class CompiledRead:
    """``build(*values)`` -> a queryset, compiled once per database for ``kinds`` of values
    (``int``, ``str`` or ``datetime.datetime``) and run with each call's values. Compiled
    per thread: a compiler's converters belong to its thread's connection."""

    def __init__(self, build: Callable[..., QuerySet], kinds: tuple[type, ...] = (int,)):
        self.build = build
        self.kinds = kinds
        self._local = threading.local()
        self._model = None

    def _fits(self, values: tuple) -> bool:
        """Whether ``values`` are of the kinds compiled for (a queryset would adapt others:
        an id given as text, a naive datetime)."""
        for value, kind in zip(values, self.kinds, strict=True):
            if not isinstance(value, kind) or isinstance(value, bool):
                return False
            if kind is int and not _INT64_MIN <= value <= _INT64_MAX:
                return False  # (an id from a URL: the queryset answers "no such row")
            if kind is dt.datetime and value.tzinfo is None:
                return False
        return True

    def _compiled(self) -> tuple[_Compiled, str]:
        if self._model is None:
            self._model = self.build(*_markers(self.kinds)).model
        using = router.db_for_read(self._model)
        by_alias = self._local.__dict__.setdefault("by_alias", {})
        compiled = by_alias.get(using)
        if compiled is None:
            markers = _markers(self.kinds)
            compiled = _Compiled(self.build(*markers), markers, using)
            by_alias[using] = compiled
        return compiled, using

    def sql(self, *values) -> tuple[str, list, str]:
        """(SQL, parameters, database alias) of the read with ``values``."""
        compiled, using = self._compiled()
        if compiled.slots is None or not self._fits(values):
            queryset = self.build(*values)
            sql, params = queryset.query.get_compiler(using=using).as_sql()
            return sql, list(params), using
        params = compiled.with_values(values)
        return compiled.sql, params, using

    def all(self, *values) -> list:
        """The queryset's results with ``values``, as ``list(queryset)`` gives them: model
        instances, value tuples or (``flat=True``) values."""
        compiled, using = self._compiled()
        if compiled.slots is None or not self._fits(values):
            return list(self.build(*values).using(using))
        params = compiled.with_values(values)
        with connections[using].cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        if not rows:
            return []
        if compiled.converters:
            rows = compiled.compiler.apply_converters(rows, compiled.converters)
        if compiled.flat:
            return [row[0] for row in rows]
        if compiled.model_fields is None:
            return [tuple(row) for row in rows]
        model, names = self._model, compiled.model_fields
        first, last = compiled.model_span
        if not compiled.related and not compiled.annotations:
            return [model.from_db(using, names, tuple(row[first:last])) for row in rows]
        found = []
        for row in rows:
            obj = model.from_db(using, names, tuple(row[first:last]))
            for populator in compiled.related:
                populator.populate(row, obj)
            for name, position in compiled.annotations:
                setattr(obj, name, row[position])
            found.append(obj)
        return found

    def first(self, *values):
        """The first result, or None (the queryset must be ordered and sliced ``[:1]``)."""
        found = self.all(*values)
        return found[0] if found else None
