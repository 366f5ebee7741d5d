"""Shared REST plumbing: errors are always JSON ``{"detail": ...}`` with the right status;
JSON bodies nested too deeply for Python's parser are a 400, not a RecursionError; an answer
that echoes a lone surrogate the client sent (``"\\ud800"``) still renders."""

from collections import deque

from django.conf import settings
from django.core.exceptions import BadRequest as DjangoBadRequest
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import inline_serializer
from rest_framework import parsers, renderers, serializers, status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    if isinstance(exc, RequestDataTooBig):  # DRF reads JSON and form bodies with request.body
        return Response({"detail": too_large_message()}, status=BodyTooLarge.status_code)
    if isinstance(exc, DjangoValidationError):
        return Response({"detail": exc.messages}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DjangoBadRequest):  # common.dates.BadDate, among others
        return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, (Http404, PermissionDenied)):
        return response
    data = response.data
    if not (isinstance(data, dict) and set(data) == {"detail"}):
        response.data = {"detail": data}
    return response


class JSONRenderer(renderers.JSONRenderer):
    r"""DRF's JSON renderer, which also renders a lone surrogate the client sent (the browsable
    API renders its content with this one too).

    JSON may carry ``"\ud800"``, which Python decodes to a string UTF-8 cannot encode.
    Messages echo what was sent (``"\ud800" is not a valid choice``: a 400's detail, a
    rejected reading's reason in a 200), and DRF's renderer raised UnicodeEncodeError on
    them: a 500. Such strings are sent escaped instead (``encodable``).
    """

    def render(self, data, accepted_media_type=None, renderer_context=None):
        try:
            return super().render(data, accepted_media_type, renderer_context)
        except UnicodeEncodeError:
            return super().render(encodable(data), accepted_media_type, renderer_context)


def encodable(data):
    r"""``data`` with every string made encodable as UTF-8: a lone surrogate becomes its escape.

    >>> encodable({"sex": ['"\ud800" is not a valid choice.']})
    {'sex': ['"\\ud800" is not a valid choice.']}
    """
    if isinstance(data, str):
        try:
            data.encode("utf-8")
        except UnicodeEncodeError:
            return data.encode("utf-8", "backslashreplace").decode("utf-8")
        return data
    if isinstance(data, dict):
        return {encodable(key): encodable(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [encodable(item) for item in data]
    return data


class JSONParser(parsers.JSONParser):
    r"""DRF's JSON parser, with a body nested beyond Python's recursion limit, or holding text
    no column can store (``unstorable_at``), refused as 400.

    ``json.loads`` recurses once per ``[`` / ``{``: ``[[[[…]]]]`` a hundred thousand deep
    raises RecursionError, which DRF does not catch (a 500 on every JSON endpoint). JSON may
    also carry ``"\u0000"`` and ``"\ud800"``, which free-form fields (a care plan's content, a
    FHIR resource) took as far as the database, which failed.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None
        where = unstorable_at(data)
        if where is not None:
            raise ParseError(f"{where}: {UNSTORABLE}")
        return data


class BodyTooLarge(APIException):
    """413: a body larger than the route accepts. A JSON or form body over Django's
    ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (``RequestDataTooBig``, which Django answered with a bare
    400 page) is one too: DRF reads such bodies through ``request.body``, which refuses them
    before reading."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"


def too_large_message() -> str:
    mb = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // (1024 * 1024)
    return _("The request body is larger than %(mb)s MB.") % {"mb": mb}


def declared_length(request) -> int:
    """The body's length as the request declares it (``Content-Length``), 0 if absent or bad."""
    meta = getattr(request, "META", {})
    try:
        return max(0, int(meta.get("CONTENT_LENGTH") or 0))
    except (TypeError, ValueError):
        return 0


UNSTORABLE = "holds a NUL character or a lone surrogate, which no field accepts."


def unstorable_at(data) -> str | None:
    r"""Where in decoded JSON a key or a string holds what no text column can store, else
    None: NUL (PostgreSQL's text and jsonb refuse it) or a lone surrogate (UTF-8 cannot
    encode it). Used by every JSON body: the REST API's and Nightscout's.

    >>> unstorable_at({"entry": [{"ok": "x"}, {"note": "a\u0000"}]})
    'entry.1.note'
    >>> unstorable_at([1, "fine", {"b": None}]) is None
    True
    """
    pending = deque([("", data)])  # a loop, not recursion: decoded JSON may nest ~1,000 deep
    while pending:
        path, value = pending.popleft()
        if isinstance(value, str):
            if not storable(value):
                return path or "(body)"
        elif isinstance(value, dict):
            for key, item in value.items():
                inner = f"{path}.{key}" if path else str(key)
                if not storable(str(key)):
                    return inner
                pending.append((inner, item))
        elif isinstance(value, list):
            pending.extend((f"{path}.{i}" if path else str(i), v) for i, v in enumerate(value))
    return None


def storable(text: str) -> bool:
    """Whether a text column can hold ``text``: no NUL, no lone surrogate."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def paginated(serializer_class: type[serializers.Serializer]) -> serializers.Serializer:
    """The OpenAPI shape of a ``PageNumberPagination`` answer around ``serializer_class``.

    >>> paginated(PatientOutput)  # doctest: +SKIP  (count, next, previous, results[])
    """
    return inline_serializer(
        name=f"Paginated{serializer_class.__name__}",
        fields={
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": serializer_class(many=True),
        },
    )


def keep_fhir_operation_names(endpoints, **kwargs):
    """drf-spectacular hook: keep the ``$`` of FHIR operation names in the schema's paths.

    It reads a ``path()`` route as a regex and drops an unescaped ``$``, so
    ``patients/<int:pk>/fhir/$submit-cgm-bundle`` was documented as ``…/fhir/submit-cgm-bundle``,
    a URL that answers 404 (found by tests/diabetes_center/test_access_matrix.py).
    """
    fixed = []
    for path, path_regex, method, callback in endpoints:
        for segment in path_regex.split("/"):
            if segment.startswith("$") and len(segment) > 1:
                path = path.replace(f"/{segment[1:]}", f"/{segment}")
        fixed.append((path, path_regex, method, callback))
    return fixed
