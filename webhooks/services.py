"""Writes of webhooks (DESIGN.md §13): endpoints, the events published to them, the deliveries.

Publishing (`publish`, and the two listeners of customers.hooks that the apps below call) writes
the message and one delivery per subscribed endpoint in the caller's transaction, and enqueues
the first attempt once it commits: an event is sent only for a change that happened, and never
lost when the change commits. When no endpoint subscribes it costs one query and writes nothing.

Each attempt (`delivery_attempt`) first claims its delivery (the next attempt time moved past
the request's timeout), sends outside any transaction, then records the outcome: a 2xx delivers
it; anything else schedules the next attempt of PORTAL_WEBHOOK_RETRY_DELAYS, or fails it after
the last one. The due-retry scan (`deliveries_retry_due`, every minute from beat) sends what is
due, so a lost worker or a lost task loses nothing. An endpoint whose attempts have failed
without a success for PORTAL_WEBHOOK_DISABLE_AFTER_DAYS is disabled and its admins are e-mailed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Organization, User
from audit.services import audit_record
from customers.models import CustomerAccount
from msp_portal.errors import DomainError
from msp_portal.mail import render_subject
from msp_portal.permissions import Cap, OrganizationKind, Role, check_cap

from . import sending
from .events import EVENT_TYPE_NAMES, TEST_EVENT, customer_data, envelope
from .models import Attempt, Delivery, DeliveryState, DisabledReason, Endpoint, Message, new_secret
from .selectors import endpoints_visible_to

# A claimed attempt is retried by the scan if its worker has not recorded it by then.
CLAIM_GRACE_SECONDS = 60
# How long the old secret still signs after a rotation.
PREVIOUS_SECRET_SECONDS = 24 * 3600
DESCRIPTION_MAX_LENGTH = 200
URL_MAX_LENGTH = 500
MSP_KINDS = (OrganizationKind.MSP, OrganizationKind.PRIVILEGED_MSP)


# --- Endpoints ------------------------------------------------------------------------------------


def _check_manage(actor: User, endpoint: Endpoint | None = None) -> None:
    """The actor may manage webhooks (else PermissionDenied) and sees the endpoint (else
    DomainError: the views resolve it through the selector first, so this is the API's guard)."""
    check_cap(actor, Cap.WEBHOOKS_MANAGE)
    if endpoint is not None and not endpoints_visible_to(actor).filter(pk=endpoint.pk).exists():
        raise DomainError(_("This webhook endpoint does not exist."))


def _clean(url: str, description: str, event_types: Iterable[str]) -> tuple[str, str, list[str]]:
    url = (url or "").strip()
    if not url:
        raise DomainError(_("Enter the endpoint URL."))
    if len(url) > URL_MAX_LENGTH:
        raise DomainError(_("The URL is too long (at most %(max)s characters).") % {"max": URL_MAX_LENGTH})
    problem = sending.url_problem(url)
    if problem:
        raise DomainError(problem)
    description = (description or "").strip()
    if len(description) > DESCRIPTION_MAX_LENGTH:
        raise DomainError(
            _("The description is too long (at most %(max)s characters).") % {"max": DESCRIPTION_MAX_LENGTH}
        )
    types = sorted(set(event_types or []))
    unknown = [name for name in types if name not in EVENT_TYPE_NAMES]
    if unknown:
        raise DomainError(_("Unknown event types: %(types)s") % {"types": ", ".join(unknown)})
    if not types:
        raise DomainError(_("Choose at least one event type."))
    return url, description, types


def _lock(endpoint: Endpoint) -> Endpoint:
    locked = Endpoint.objects.select_for_update().select_related("organization").filter(pk=endpoint.pk).first()
    if locked is None or locked.deleted_at is not None:
        raise DomainError(_("This webhook endpoint does not exist."))
    return locked


def _audit(actor, endpoint: Endpoint, *, action: str, before=None, after=None) -> None:
    audit_record(
        actor=actor, action=action, obj=endpoint, organization=endpoint.organization, before=before, after=after
    )


def _snapshot(endpoint: Endpoint) -> dict[str, Any]:
    return {"url": endpoint.url, "description": endpoint.description, "event_types": list(endpoint.event_types)}


@transaction.atomic
def endpoint_create(*, actor: User, url: str, description: str = "", event_types: Iterable[str]) -> Endpoint:
    """Register an endpoint for the actor's organization (an MSP, privileged MSP or the operator)
    with the event types it receives; it gets a new signing secret (`whsec_…`) and is enabled.
    Outside DEBUG the URL must be HTTPS to a public address."""
    _check_manage(actor)
    organization = actor.organization
    if organization.kind == OrganizationKind.SUPPORT or not organization.is_active:
        raise DomainError(_("Only an MSP or the operator can register webhook endpoints."))
    url, description, types = _clean(url, description, event_types)
    endpoint = Endpoint.objects.create(
        organization=organization, url=url, description=description, event_types=types, created_by=actor
    )
    _audit(actor, endpoint, action="webhook_endpoint.create", after=_snapshot(endpoint))
    return endpoint


@transaction.atomic
def endpoint_update(
    *, actor: User, endpoint: Endpoint, url: str, description: str = "", event_types: Iterable[str]
) -> Endpoint:
    """Change an endpoint's URL, description and event types; only what changed is audited.
    Deliveries already made keep the URL they were sent to in their attempts."""
    _check_manage(actor, endpoint)
    url, description, types = _clean(url, description, event_types)
    endpoint = _lock(endpoint)
    before = _snapshot(endpoint)
    endpoint.url, endpoint.description, endpoint.event_types = url, description, types
    after = _snapshot(endpoint)
    changed = [key for key in before if before[key] != after[key]]
    if changed:
        endpoint.save(update_fields=["url", "description", "event_types", "updated_at"])
        _audit(
            actor,
            endpoint,
            action="webhook_endpoint.update",
            before={key: before[key] for key in changed},
            after={key: after[key] for key in changed},
        )
    return endpoint


@transaction.atomic
def endpoint_delete(*, actor: User, endpoint: Endpoint) -> Endpoint:
    """Delete an endpoint: it receives nothing more and leaves the list; its pending deliveries
    fail. The rows stay (marked deleted), so the audit trail keeps naming it."""
    _check_manage(actor, endpoint)
    endpoint = _lock(endpoint)
    now = timezone.now()
    endpoint.deleted_at = now
    endpoint.enabled = False
    endpoint.save(update_fields=["deleted_at", "enabled", "updated_at"])
    endpoint.deliveries.filter(state=DeliveryState.PENDING).update(
        state=DeliveryState.FAILED, next_attempt_at=None, updated_at=now
    )
    _audit(actor, endpoint, action="webhook_endpoint.delete", before=_snapshot(endpoint))
    return endpoint


@transaction.atomic
def endpoint_rotate_secret(*, actor: User, endpoint: Endpoint) -> Endpoint:
    """Give the endpoint a new signing secret. For PREVIOUS_SECRET_SECONDS the old one signs too
    (a second signature in `webhook-signature`), so the receiver can switch without losing
    events. The audit event records the rotation, never a secret."""
    _check_manage(actor, endpoint)
    endpoint = _lock(endpoint)
    now = timezone.now()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = now + dt.timedelta(seconds=PREVIOUS_SECRET_SECONDS)
    endpoint.secret = new_secret()
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
    _audit(
        actor,
        endpoint,
        action="webhook_endpoint.rotate_secret",
        after={"previous_secret_valid_until": endpoint.previous_secret_expires_at.isoformat()},
    )
    return endpoint


@transaction.atomic
def endpoint_enable(*, actor: User, endpoint: Endpoint, enabled: bool = True) -> Endpoint:
    """Enable (or, with `enabled=False`, disable) an endpoint. Enabling clears the failure
    streak; deliveries that failed meanwhile are sent again only by "Redeliver"."""
    _check_manage(actor, endpoint)
    endpoint = _lock(endpoint)
    if endpoint.enabled == enabled:
        return endpoint
    before = {"enabled": endpoint.enabled, "disabled_reason": endpoint.disabled_reason}
    now = timezone.now()
    endpoint.enabled = enabled
    endpoint.failing_since = None
    if enabled:
        endpoint.disabled_reason, endpoint.disabled_at = "", None
    else:
        endpoint.disabled_reason, endpoint.disabled_at = DisabledReason.MANUAL, now
        _fail_pending(endpoint, now)
    endpoint.save(update_fields=["enabled", "failing_since", "disabled_reason", "disabled_at", "updated_at"])
    _audit(
        actor,
        endpoint,
        action="webhook_endpoint.enable" if enabled else "webhook_endpoint.disable",
        before=before,
        after={"enabled": enabled, "disabled_reason": endpoint.disabled_reason},
    )
    return endpoint


def _fail_pending(endpoint: Endpoint, now: dt.datetime) -> None:
    endpoint.deliveries.filter(state=DeliveryState.PENDING).update(
        state=DeliveryState.FAILED, next_attempt_at=None, updated_at=now
    )


@transaction.atomic
def endpoint_send_test(*, actor: User, endpoint: Endpoint) -> Delivery:
    """Send a `webhook.test` event to this endpoint only (whatever it subscribes to), now; its
    delivery shows in the endpoint's log like any other."""
    _check_manage(actor, endpoint)
    endpoint = _lock(endpoint)
    if not endpoint.enabled:
        raise DomainError(_("Enable the endpoint before sending it a test event."))
    now = timezone.now()
    message = Message.objects.create(
        event_type=TEST_EVENT,
        organization=endpoint.organization,
        payload=envelope(TEST_EVENT, {"endpoint_id": endpoint.pk, "sent_by": actor.email}, now),
        created_at=now,
    )
    delivery = Delivery.objects.create(endpoint=endpoint, message=message, next_attempt_at=now, created_at=now)
    _audit(actor, endpoint, action="webhook_endpoint.test", after={"event_id": message.event_id})
    _enqueue([delivery.pk], "test")
    return delivery


@transaction.atomic
def delivery_redeliver(*, actor: User, delivery: Delivery) -> Delivery:
    """Send a delivery's message again now, with the same `webhook-id` (receivers drop what they
    already handled). A failure is retried on the schedule if attempts remain, else it fails."""
    endpoint = delivery.endpoint
    _check_manage(actor, endpoint)
    endpoint = _lock(endpoint)
    if not endpoint.enabled:
        raise DomainError(_("Enable the endpoint before redelivering to it."))
    delivery = Delivery.objects.select_for_update().select_related("message").get(pk=delivery.pk)
    before = {"state": delivery.state}
    now = timezone.now()
    delivery.state = DeliveryState.PENDING
    delivery.next_attempt_at = now
    delivery.save(update_fields=["state", "next_attempt_at", "updated_at"])
    audit_record(
        actor=actor,
        action="webhook_delivery.redeliver",
        obj=delivery,
        organization=endpoint.organization,
        before=before,
        after={"state": DeliveryState.PENDING, "event_id": delivery.message.event_id, "endpoint": endpoint.pk},
    )
    _enqueue([delivery.pk], "redeliver")
    return delivery


# --- Publishing -----------------------------------------------------------------------------------


def _enqueue(delivery_ids: list[int], trigger: str = "") -> None:
    from .tasks import send_delivery

    if delivery_ids:
        transaction.on_commit(lambda: [send_delivery.delay(pk, trigger) for pk in delivery_ids])


def _subscribed_endpoints(event_type: str, organization_ids: list[int] | None) -> list[Endpoint]:
    """The enabled endpoints subscribed to `event_type` that receive events of these MSPs (None:
    of any): their own, their privileged parent's and the operator's. One query."""
    queryset = Endpoint.objects.filter(enabled=True, deleted_at__isnull=True).select_related("organization")
    if organization_ids is not None:
        queryset = queryset.filter(
            Q(organization_id__in=organization_ids)
            | Q(organization__children__in=organization_ids)
            | Q(organization__kind=OrganizationKind.OPERATOR)
        )
    # Subscriptions are a short JSON list: filtered here, the same on SQLite and PostgreSQL.
    return [endpoint for endpoint in {e.pk: e for e in queryset}.values() if endpoint.receives(event_type)]


def _receivers(endpoints: list[Endpoint], organization_ids: Iterable[int]) -> dict[int, list[Endpoint]]:
    """For each MSP, the endpoints among `endpoints` that receive its events."""
    ids = sorted(set(organization_ids))
    parents = dict(Organization.objects.filter(pk__in=ids).values_list("pk", "parent_id"))
    result: dict[int, list[Endpoint]] = {}
    for organization_id in ids:
        receiving = [
            endpoint
            for endpoint in endpoints
            if endpoint.organization_id in (organization_id, parents.get(organization_id))
            or endpoint.organization.kind == OrganizationKind.OPERATOR
        ]
        if receiving:
            result[organization_id] = receiving
    return result


def _write(event_type: str, organization_id: int, data: dict[str, Any], endpoints: list[Endpoint], now) -> Message:
    message = Message.objects.create(
        event_type=event_type,
        organization_id=organization_id,
        payload=envelope(event_type, data, now),
        created_at=now,
    )
    deliveries = Delivery.objects.bulk_create(
        [Delivery(endpoint=endpoint, message=message, next_attempt_at=now, created_at=now) for endpoint in endpoints]
    )
    _enqueue([delivery.pk for delivery in deliveries])
    return message


def publish(*, event_type: str, organization_id: int, data: dict[str, Any]) -> Message | None:
    """Publish one event of an MSP to its subscribed endpoints, in the caller's transaction
    (sent after commit). None when nobody subscribes (one query, nothing written)."""
    endpoints = _subscribed_endpoints(event_type, [organization_id])
    receivers = _receivers(endpoints, [organization_id]) if endpoints else {}
    if organization_id not in receivers:
        return None
    return _write(event_type, organization_id, data, receivers[organization_id], timezone.now())


def publish_customer_events(
    event_type: str, items: Iterable[tuple[CustomerAccount, dict[str, Any]]], *, organization_id: int | None = None
) -> int:
    """customers.hooks.customer_events: one event per item, to the endpoints of the customer's
    MSP (or of `organization_id`). The customer is read again after the change, with its
    balance, only when some endpoint receives it. Returns the number of messages written."""
    items = list(items)
    if not items:
        return 0
    target = {customer.pk: organization_id or customer.organization_id for customer, _extra in items}
    endpoints = _subscribed_endpoints(event_type, sorted(set(target.values())))
    if not endpoints:
        return 0
    receivers = _receivers(endpoints, target.values())
    wanted = [pk for pk, org in target.items() if org in receivers]
    if not wanted:
        return 0
    customers = CustomerAccount.objects.with_points().in_bulk(wanted)
    now = timezone.now()
    written = 0
    for customer, extra in items:
        if customer.pk not in customers or target[customer.pk] not in receivers:
            continue
        data = {"customer": customer_data(customers[customer.pk]), **extra}
        _write(event_type, target[customer.pk], data, receivers[target[customer.pk]], now)
        written += 1
    return written


def publish_organization_events(
    event_type: str,
    data_for: Callable[[list[int]], dict[int, dict[str, Any]]],
    *,
    organization_ids: Iterable[int] | None = None,
) -> int:
    """customers.hooks.organization_events: one event per MSP (of `organization_ids`, or any
    MSP) that some endpoint receives; `data_for` is asked for exactly those MSPs' payloads, and
    not at all when none subscribes. Returns the number of messages written."""
    ids = sorted(set(organization_ids)) if organization_ids is not None else None
    endpoints = _subscribed_endpoints(event_type, ids)
    if not endpoints:
        return 0
    if ids is None:
        if any(endpoint.organization.kind == OrganizationKind.OPERATOR for endpoint in endpoints):
            ids = list(Organization.objects.filter(kind__in=MSP_KINDS).values_list("pk", flat=True))
        else:
            own = {endpoint.organization_id for endpoint in endpoints}
            ids = list(
                Organization.objects.filter(kind__in=MSP_KINDS)
                .filter(Q(pk__in=own) | Q(parent_id__in=own))
                .values_list("pk", flat=True)
            )
    receivers = _receivers(endpoints, ids)
    if not receivers:
        return 0
    payloads = data_for(sorted(receivers))
    now = timezone.now()
    written = 0
    for organization_id, data in sorted(payloads.items()):
        if organization_id in receivers:
            _write(event_type, organization_id, data, receivers[organization_id], now)
            written += 1
    return written


# --- Delivering -----------------------------------------------------------------------------------


def _retry_delay(attempts_made: int) -> dt.timedelta | None:
    delays = settings.PORTAL_WEBHOOK_RETRY_DELAYS
    if attempts_made > len(delays):
        return None
    return dt.timedelta(seconds=delays[attempts_made - 1])


def _claim(delivery_id: int, now: dt.datetime) -> Delivery | None:
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(of=("self",))
            .select_related("endpoint", "message")
            .filter(pk=delivery_id, state=DeliveryState.PENDING, next_attempt_at__lte=now)
            .first()
        )
        if delivery is None or not delivery.endpoint.enabled or delivery.endpoint.deleted_at is not None:
            return None
        # Claimed: another worker (or the scan) skips it until the request has had its time.
        delivery.next_attempt_at = now + dt.timedelta(
            seconds=settings.PORTAL_WEBHOOK_TIMEOUT_SECONDS + CLAIM_GRACE_SECONDS
        )
        delivery.save(update_fields=["next_attempt_at", "updated_at"])
    return delivery


def delivery_attempt(*, delivery_id: int, trigger: str = "") -> Attempt | None:
    """Send a pending, due delivery once and record the attempt; None when it is not due (sent
    already, claimed by another worker, or its endpoint disabled)."""
    now = timezone.now()
    delivery = _claim(delivery_id, now)
    if delivery is None:
        return None
    endpoint, message = delivery.endpoint, delivery.message
    body = sending.body_of(message.payload)
    headers = sending.signature_headers(
        secrets=endpoint.signing_secrets(now), message_id=message.event_id, at=now, body=body
    )
    outcome = sending.post(endpoint.url, body, headers)
    return _record(delivery.pk, outcome, attempted_at=now, trigger=trigger)


@transaction.atomic
def _record(delivery_id: int, outcome: sending.Outcome, *, attempted_at: dt.datetime, trigger: str) -> Attempt:
    delivery = Delivery.objects.select_for_update(of=("self",)).select_related("endpoint").get(pk=delivery_id)
    endpoint = Endpoint.objects.select_for_update().select_related("organization").get(pk=delivery.endpoint_id)
    now = timezone.now()
    delivery.attempt_count += 1
    attempt = Attempt.objects.create(
        delivery=delivery,
        attempted_at=attempted_at,
        status_code=outcome.status_code,
        error=outcome.error,
        duration_ms=outcome.duration_ms,
        response_excerpt=outcome.response_excerpt,
        succeeded=outcome.succeeded,
        trigger=trigger,
    )
    if outcome.succeeded:
        delivery.state, delivery.next_attempt_at = DeliveryState.SUCCEEDED, None
        if endpoint.failing_since is not None:
            endpoint.failing_since = None
            endpoint.save(update_fields=["failing_since", "updated_at"])
    else:
        delay = _retry_delay(delivery.attempt_count)
        if delay is None:
            delivery.state, delivery.next_attempt_at = DeliveryState.FAILED, None
        else:
            delivery.next_attempt_at = attempted_at + delay
        if endpoint.failing_since is None:
            endpoint.failing_since = attempted_at
            endpoint.save(update_fields=["failing_since", "updated_at"])
    delivery.save(update_fields=["state", "attempt_count", "next_attempt_at", "updated_at"])
    if not outcome.succeeded:
        _disable_if_failing(endpoint, now)
    return attempt


def _disable_if_failing(endpoint: Endpoint, now: dt.datetime) -> bool:
    """Disable a locked endpoint whose failures have lasted PORTAL_WEBHOOK_DISABLE_AFTER_DAYS,
    fail its pending deliveries, audit it and e-mail its organization's admins after commit."""
    limit = dt.timedelta(days=settings.PORTAL_WEBHOOK_DISABLE_AFTER_DAYS)
    if not endpoint.enabled or endpoint.failing_since is None or now - endpoint.failing_since < limit:
        return False
    endpoint.enabled = False
    endpoint.disabled_reason, endpoint.disabled_at = DisabledReason.FAILING, now
    endpoint.save(update_fields=["enabled", "disabled_reason", "disabled_at", "updated_at"])
    _fail_pending(endpoint, now)
    audit_record(
        actor=None,
        action="webhook_endpoint.disable",
        obj=endpoint,
        organization=endpoint.organization,
        before={"enabled": True},
        after={
            "enabled": False,
            "disabled_reason": DisabledReason.FAILING,
            "failing_since": endpoint.failing_since.isoformat(),
        },
    )
    endpoint_id = endpoint.pk
    transaction.on_commit(lambda: send_endpoint_disabled_email(endpoint_id))
    return True


def deliveries_retry_due(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """The due-retry scan: attempt every pending delivery whose time has come (oldest first, at
    most `limit` a run; the next run takes the rest), and disable the endpoints failing for too
    long even when nothing is due for them. Returns the number of attempts made."""
    now = now or timezone.now()
    _disable_failing_endpoints(now)
    due = list(
        Delivery.objects.filter(
            state=DeliveryState.PENDING,
            next_attempt_at__lte=now,
            endpoint__enabled=True,
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    attempted = 0
    for delivery_id in due:
        if delivery_attempt(delivery_id=delivery_id) is not None:
            attempted += 1
    return attempted


def _disable_failing_endpoints(now: dt.datetime) -> None:
    limit = now - dt.timedelta(days=settings.PORTAL_WEBHOOK_DISABLE_AFTER_DAYS)
    for endpoint_id in Endpoint.objects.filter(enabled=True, failing_since__lte=limit).values_list("pk", flat=True):
        with transaction.atomic():
            endpoint = Endpoint.objects.select_for_update().select_related("organization").get(pk=endpoint_id)
            _disable_if_failing(endpoint, now)


# --- E-mail ---------------------------------------------------------------------------------------


def send_endpoint_disabled_email(endpoint_id: int) -> int:
    """Tell the endpoint's organization's admins that it was disabled, each in their language;
    returns the number of e-mails sent."""
    endpoint = Endpoint.objects.select_related("organization").get(pk=endpoint_id)
    recipients = (
        User.objects.filter(
            is_active=True,
            membership__organization_id=endpoint.organization_id,
            membership__role__in=(Role.ADMIN, Role.OPERATOR_ADMIN),
        )
        .exclude(email="")
        .order_by("email")
    )
    url = settings.PORTAL_BASE_URL.rstrip("/") + reverse("webhooks:endpoint_detail", args=[endpoint.pk])
    messages = []
    for user in recipients:
        context = {"endpoint": endpoint, "user": user, "url": url, "days": settings.PORTAL_WEBHOOK_DISABLE_AFTER_DAYS}
        with translation.override(user.language):
            subject = render_subject("webhooks/email/endpoint_disabled_subject.txt", context)
            body = render_to_string("webhooks/email/endpoint_disabled_body.txt", context)
        messages.append(EmailMessage(subject=subject, body=body, to=[user.email]))
    if messages:
        get_connection().send_messages(messages)
    return len(messages)
