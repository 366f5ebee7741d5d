"""Shared REST plumbing: errors are always JSON ``{"detail": ...}`` with the right status."""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        return Response({"detail": exc.messages}, status=status.HTTP_400_BAD_REQUEST)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, (Http404, PermissionDenied)):
        return response
    data = response.data
    if not (isinstance(data, dict) and set(data) == {"detail"}):
        response.data = {"detail": data}
    return response
