"""ポイント購入申請: an MSP whose pool is short asks the operator for points; the operator
records the purchase from the request (`points_purchase`, issuance → the MSP's pool) or declines
it with a reason. Each write is one transaction, locks the request row, audits itself and
e-mails the other side after commit, each recipient in their own language (Japanese first).

Recording is idempotent: the purchase's key is the request's (`purchase-request:<pk>`), and a
request already recorded returns its transfer, so a double click records the points once."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Organization, User
from audit.services import audit_record
from msp_portal.errors import DomainError, retried_atomic
from msp_portal.mail import render_subject
from msp_portal.permissions import Role

from .models import PurchaseRequest, PurchaseRequestStatus, Transfer
from .services import ORDER_REFERENCE_MAX_LENGTH, REASON_MAX_LENGTH, points_purchase, validate_amount

NOTE_MAX_LENGTH = 1000


def purchase_key(request: PurchaseRequest) -> str:
    return f"purchase-request:{request.pk}"


def _audit(actor, action: str, request: PurchaseRequest, *, before=None, **after) -> None:
    audit_record(
        actor=actor,
        action=action,
        obj=request,
        organization=request.organization,
        before=before,
        after={"status": request.status, **after},
    )


@retried_atomic
def purchase_request_create(
    *,
    actor: User | None,
    organization: Organization,
    amount: int,
    order_reference: str,
    note: str = "",
    idempotency_key: str,
) -> PurchaseRequest:
    """File a request for `amount` points into the pool of `organization` (an active MSP), with
    the MSP's purchase-order reference and a note; the operator's admins are e-mailed. The same
    key returns the request it filed first."""
    amount = validate_amount(amount)
    order_reference = (order_reference or "").strip()
    note = (note or "").strip()
    if not order_reference:
        raise DomainError(_("Enter the order reference of the purchase."))
    if len(order_reference) > ORDER_REFERENCE_MAX_LENGTH:
        raise DomainError(_("The order reference is too long."))
    if len(note) > NOTE_MAX_LENGTH:
        raise DomainError(_("The note is too long."))
    if not organization.is_msp or not organization.is_active:
        raise DomainError(_("Points can only be sold to an active MSP."))
    existing = PurchaseRequest.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    request = PurchaseRequest.objects.create(
        organization=organization,
        amount=amount,
        order_reference=order_reference,
        note=note,
        requested_by=actor,
        idempotency_key=idempotency_key,
    )
    _audit(actor, "points.purchase_request", request, amount=amount, order_reference=order_reference, note=note)
    request_id = request.pk
    transaction.on_commit(lambda: send_purchase_request_email(request_id, "requested"))
    return request


def _lock(request: PurchaseRequest) -> PurchaseRequest:
    return PurchaseRequest.objects.select_for_update().select_related("organization").get(pk=request.pk)


@retried_atomic
def purchase_request_record(*, actor: User | None, request: PurchaseRequest) -> Transfer:
    """「購入を記録」: post the request's purchase (issuance → the MSP's pool, with its order
    reference) and close it; the requester is e-mailed. A recorded request returns its transfer;
    a declined one cannot be recorded."""
    request = _lock(request)
    if request.status == PurchaseRequestStatus.RECORDED:
        return request.transfer
    if request.status != PurchaseRequestStatus.OPEN:
        raise DomainError(_("This request was declined; it cannot be recorded."))
    transfer = points_purchase(
        actor=actor,
        organization=request.organization,
        amount=request.amount,
        order_reference=request.order_reference,
        idempotency_key=purchase_key(request),
    )
    request.status = PurchaseRequestStatus.RECORDED
    request.transfer = transfer
    request.closed_by = actor if getattr(actor, "is_authenticated", False) else None
    request.closed_at = timezone.now()
    request.save(update_fields=["status", "transfer", "closed_by", "closed_at"])
    _audit(actor, "points.purchase_request_recorded", request, before={"status": "open"}, transfer=transfer.pk)
    request_id = request.pk
    transaction.on_commit(lambda: send_purchase_request_email(request_id, "recorded"))
    return transfer


@retried_atomic
def purchase_request_decline(*, actor: User | None, request: PurchaseRequest, reason: str) -> PurchaseRequest:
    """Close an open request without points, with the reason the requester is e-mailed."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Enter the reason for declining the request."))
    if len(reason) > REASON_MAX_LENGTH:
        raise DomainError(_("The reason is too long."))
    request = _lock(request)
    if request.status != PurchaseRequestStatus.OPEN:
        raise DomainError(_("This request is already closed."))
    request.status = PurchaseRequestStatus.DECLINED
    request.decline_reason = reason
    request.closed_by = actor if getattr(actor, "is_authenticated", False) else None
    request.closed_at = timezone.now()
    request.save(update_fields=["status", "decline_reason", "closed_by", "closed_at"])
    _audit(actor, "points.purchase_request_declined", request, before={"status": "open"}, reason=reason)
    request_id = request.pk
    transaction.on_commit(lambda: send_purchase_request_email(request_id, "declined"))
    return request


# --- E-mails ------------------------------------------------------------------------------------


def _recipients(request: PurchaseRequest, event: str) -> list[User]:
    """A new request goes to the operator's admins; its outcome to the requester, or when they
    are gone to the MSP's admin and billing staff."""
    users = User.objects.filter(is_active=True).exclude(email="")
    if event == "requested":
        return list(users.filter(membership__role=Role.OPERATOR_ADMIN).order_by("email"))
    requester = request.requested_by
    if requester is not None and requester.is_active and requester.email:
        return [requester]
    return list(
        users.filter(
            membership__organization=request.organization, membership__role__in=(Role.ADMIN, Role.BILLING)
        ).order_by("email")
    )


def send_purchase_request_email(request_id: int, event: str) -> int:
    """E-mail one side of request `request_id` about `event` (requested, recorded, declined),
    each recipient in their language; returns the number of e-mails sent."""
    request = PurchaseRequest.objects.select_related("organization", "requested_by").get(pk=request_id)
    base = settings.PORTAL_BASE_URL.rstrip("/")
    url = base + reverse("points:purchase_requests")
    messages = []
    for user in _recipients(request, event):
        context = {"request": request, "user": user, "event": event, "url": url}
        with translation.override(user.language):
            subject = render_subject(f"points/email/purchase_request_{event}_subject.txt", context)
            body = render_to_string("points/email/purchase_request_body.txt", context)
        messages.append(EmailMessage(subject=subject, body=body, to=[user.email]))
    if messages:
        get_connection().send_messages(messages)
    return len(messages)
