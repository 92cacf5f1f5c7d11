"""Idempotency-Key on state-changing requests (DESIGN.md §13).

The first answer to a key is kept (IdempotencyRecord): the same key with the same request gets
it again (`Idempotent-Replayed: true`), with another request 422. The record is created first
and locked while the work runs, so concurrent repeats wait for the first one and replay its
answer. A point move also hands the services a ledger key derived from it
(`api:<key prefix>:<Idempotency-Key>`): the ledger's own unique key (points/services.py) is
the last guard, whatever happens to the record. An answer that is an error is not kept: that
request changed nothing, and may be sent again.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from .models import IdempotencyRecord
from .problems import problem

HEADER = "Idempotency-Key"
KEY_RE = re.compile(r"^[\x21-\x7e]{1,100}\Z")


def _fingerprint(request) -> str:
    body = json.dumps(request.data, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def idempotency_key_of(request, *, required: bool) -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        if required:
            raise ValidationError({HEADER: [_("This operation needs an Idempotency-Key header.")]})
        return None
    if not KEY_RE.match(key):
        raise ValidationError({HEADER: [_("Use 1 to 100 visible ASCII characters for the Idempotency-Key.")]})
    return key


def run_once(request, work: Callable[[str | None], Response], *, required: bool = False) -> Response:
    """Answer `request` with `work(ledger_key)`, at most once per Idempotency-Key."""
    key = idempotency_key_of(request, required=required)
    if key is None:
        return work(None)
    api_key = request.auth
    fingerprint = _fingerprint(request)
    try:
        with transaction.atomic():
            IdempotencyRecord.objects.create(api_key=api_key, key=key, request_hash=fingerprint)
    except IntegrityError:
        pass  # an earlier or concurrent request with this key: wait for it below
    with transaction.atomic():
        record = IdempotencyRecord.objects.select_for_update().get(api_key=api_key, key=key)
        if record.status_code is not None:
            if record.request_hash != fingerprint:
                return problem(
                    422,
                    _("This Idempotency-Key was already used with another request. Use a new key for a new request."),
                    code="idempotency_key_reused",
                )
            response = Response(record.body, status=record.status_code)
            response["Idempotent-Replayed"] = "true"
            return response
        response = work(f"api:{api_key.prefix}:{key}")
        if 200 <= response.status_code < 300:
            record.request_hash = fingerprint
            record.status_code = response.status_code
            record.body = response.data
            record.save(update_fields=["request_hash", "status_code", "body"])
        return response
