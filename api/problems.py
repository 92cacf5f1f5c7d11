"""Error answers as RFC 9457 problem details (`application/problem+json`): `type`, `title`,
`status`, `detail`, and for invalid input `errors`, one entry per field message with a JSON
pointer to the field. Messages are in the request's language (Accept-Language)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import DatabaseError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from msp_portal.errors import OVERLAP_MESSAGE, DomainError, is_overlap

PROBLEM_CONTENT_TYPE = "application/problem+json"


class Unprocessable(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "unprocessable"


def _titles() -> dict[int, str]:
    return {
        400: _("The request is invalid."),
        401: _("Authentication is required."),
        403: _("Not allowed."),
        404: _("Not found."),
        405: _("Method not allowed."),
        406: _("Not acceptable."),
        409: _("The request conflicts with the current state."),
        415: _("Unsupported media type."),
        422: _("The request cannot be processed."),
        429: _("Too many requests."),
    }


def _field_errors(detail, path: tuple[str, ...] = ()) -> list[dict]:
    """Flatten DRF's nested error detail into [{"field", "pointer", "detail"}]."""
    if isinstance(detail, dict):
        return [error for key, value in detail.items() for error in _field_errors(value, (*path, str(key)))]
    if isinstance(detail, list) and detail and all(not isinstance(item, (dict, list)) for item in detail):
        field = ".".join(name for name in path if name != "non_field_errors") or None
        pointer = "#/" + "/".join(name for name in path if name != "non_field_errors")
        return [{"field": field, "pointer": pointer, "detail": str(message)} for message in detail]
    if isinstance(detail, list):
        return [error for index, value in enumerate(detail) for error in _field_errors(value, (*path, str(index)))]
    field = ".".join(path) or None
    return [{"field": field, "pointer": "#/" + "/".join(path), "detail": str(detail)}]


def problem(status_code: int, detail: str, *, code: str = "", headers=None, **extra) -> Response:
    body = {
        "type": "about:blank",
        "title": _titles().get(status_code, _("Error")),
        "status": status_code,
        "detail": str(detail),
        **({"code": code} if code else {}),
        **extra,
    }
    return Response(body, status=status_code, headers=headers, content_type=PROBLEM_CONTENT_TYPE)


def exception_handler(exc, context):
    """DRF's exception handler, answering in problem details; a business rule's refusal
    (DomainError) is 409 with its message, a transaction that overlapped with another one 409
    too (nothing changed; try again)."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, DatabaseError) and is_overlap(exc):
        set_rollback()
        return problem(409, str(OVERLAP_MESSAGE), code="overlapped")
    if isinstance(exc, DomainError):
        set_rollback()
        extra = {name: getattr(exc, name, None) for name in ("available", "needed", "missing", "balance", "result")}
        return problem(409, str(exc), code="refused", **{k: v for k, v in extra.items() if isinstance(v, int)})
    if not isinstance(exc, exceptions.APIException):
        return None
    set_rollback()
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = f"{int(exc.wait)}"
    if isinstance(exc, exceptions.ValidationError):
        errors = _field_errors(exc.detail)
        detail = errors[0]["detail"] if len(errors) == 1 else _("Some fields are invalid.")
        return problem(400, detail, code="invalid", headers=headers, errors=errors)
    detail = exc.detail if not isinstance(exc.detail, (list, dict)) else _field_errors(exc.detail)[0]["detail"]
    code = exc.get_codes() if isinstance(exc.get_codes(), str) else ""
    return problem(exc.status_code, str(detail), code=code, headers=headers)
