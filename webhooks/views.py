"""Webhook pages: the endpoint list, an endpoint with its deliveries, a delivery with its
attempts, and the popups that change them (each re-authenticated: SENSITIVE_VIEWS)."""

from __future__ import annotations

import json

from django.contrib import messages
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods
from django_tables2 import RequestConfig

from msp_portal.errors import DomainError
from msp_portal.htmx import popup_done
from msp_portal.permissions import Cap, OrganizationKind, capability_required
from msp_portal.requests import page_size

from . import services
from .forms import ConfirmForm, EndpointForm
from .selectors import attempts_of, deliveries_page, endpoint_list_for, get_delivery_for_user, get_endpoint_for_user
from .tables import AttemptTable, DeliveryTable, EndpointTable

MANAGE = Cap.WEBHOOKS_MANAGE
SCOPE = (get_endpoint_for_user, "endpoint_id")


@capability_required(MANAGE)
@require_GET
def endpoint_list(request):
    show_organization = request.user.organization.kind != OrganizationKind.MSP
    table = EndpointTable(endpoint_list_for(request.user), show_organization=show_organization)
    RequestConfig(request, paginate={"per_page": page_size(request)}).configure(table)
    return render(request, "webhooks/endpoint_list.html", {"table": table})


@capability_required(MANAGE)
@require_http_methods(["GET", "POST"])
def endpoint_create(request):
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint = services.endpoint_create(actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("The webhook endpoint is registered. Its signing secret is on its page."))
            return popup_done(request, reverse("webhooks:endpoint_detail", args=[endpoint.pk]))
    return render(
        request,
        "webhooks/endpoint_form_modal.html",
        {"form": form, "action": reverse("webhooks:endpoint_create"), "endpoint": None},
    )


@capability_required(MANAGE, scope=SCOPE)
@require_GET
def endpoint_detail(request, endpoint_id: int):
    endpoint = get_endpoint_for_user(request.user, endpoint_id, cap=MANAGE)
    # An endpoint's log only grows: keyset pages ("older"), never counted nor OFFSET.
    size = page_size(request)
    rows, older = deliveries_page(endpoint, before=request.GET.get("before"), size=size)
    table = DeliveryTable(rows)
    RequestConfig(request, paginate=False).configure(table)
    return render(
        request,
        "webhooks/endpoint_detail.html",
        {
            "endpoint": endpoint,
            "table": table,
            "older": older,
            "per_page": size,
            "paged": bool(request.GET.get("before")),
        },
    )


@capability_required(MANAGE, scope=SCOPE)
@require_http_methods(["GET", "POST"])
def endpoint_edit(request, endpoint_id: int):
    endpoint = get_endpoint_for_user(request.user, endpoint_id, cap=MANAGE)
    initial = {"url": endpoint.url, "description": endpoint.description, "event_types": endpoint.event_types}
    form = EndpointForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.endpoint_update(actor=request.user, endpoint=endpoint, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("The webhook endpoint is saved."))
            return popup_done(request, reverse("webhooks:endpoint_detail", args=[endpoint.pk]))
    return render(
        request,
        "webhooks/endpoint_form_modal.html",
        {"form": form, "action": reverse("webhooks:endpoint_edit", args=[endpoint.pk]), "endpoint": endpoint},
    )


def _confirm(request, endpoint, *, form_url, template, done_url, success, run):
    """A popup that confirms one action on an endpoint (or its delivery) and runs it."""
    form = ConfirmForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            run()
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, success)
            return popup_done(request, done_url)
    return render(request, template, {"form": form, "endpoint": endpoint, "action": form_url})


@capability_required(MANAGE, scope=SCOPE)
@require_http_methods(["GET", "POST"])
def endpoint_delete(request, endpoint_id: int):
    endpoint = get_endpoint_for_user(request.user, endpoint_id, cap=MANAGE)
    return _confirm(
        request,
        endpoint,
        form_url=reverse("webhooks:endpoint_delete", args=[endpoint.pk]),
        template="webhooks/endpoint_delete_modal.html",
        done_url=reverse("webhooks:endpoint_list"),
        success=_("The webhook endpoint is deleted."),
        run=lambda: services.endpoint_delete(actor=request.user, endpoint=endpoint),
    )


@capability_required(MANAGE, scope=SCOPE)
@require_http_methods(["GET", "POST"])
def endpoint_rotate_secret(request, endpoint_id: int):
    endpoint = get_endpoint_for_user(request.user, endpoint_id, cap=MANAGE)
    return _confirm(
        request,
        endpoint,
        form_url=reverse("webhooks:endpoint_rotate_secret", args=[endpoint.pk]),
        template="webhooks/endpoint_rotate_modal.html",
        done_url=reverse("webhooks:endpoint_detail", args=[endpoint.pk]),
        success=_("The signing secret is replaced. The previous one also signs for 24 hours."),
        run=lambda: services.endpoint_rotate_secret(actor=request.user, endpoint=endpoint),
    )


@capability_required(MANAGE, scope=SCOPE)
@require_http_methods(["GET", "POST"])
def endpoint_enable(request, endpoint_id: int):
    """Enable a disabled endpoint, or disable an enabled one (the popup says which)."""
    endpoint = get_endpoint_for_user(request.user, endpoint_id, cap=MANAGE)
    enable = not endpoint.enabled
    return _confirm(
        request,
        endpoint,
        form_url=reverse("webhooks:endpoint_enable", args=[endpoint.pk]),
        template="webhooks/endpoint_enable_modal.html",
        done_url=reverse("webhooks:endpoint_detail", args=[endpoint.pk]),
        success=_("The webhook endpoint is enabled.") if enable else _("The webhook endpoint is disabled."),
        run=lambda: services.endpoint_enable(actor=request.user, endpoint=endpoint, enabled=enable),
    )


@capability_required(MANAGE, scope=SCOPE)
@require_http_methods(["GET", "POST"])
def endpoint_test(request, endpoint_id: int):
    endpoint = get_endpoint_for_user(request.user, endpoint_id, cap=MANAGE)
    return _confirm(
        request,
        endpoint,
        form_url=reverse("webhooks:endpoint_test", args=[endpoint.pk]),
        template="webhooks/endpoint_test_modal.html",
        done_url=reverse("webhooks:endpoint_detail", args=[endpoint.pk]),
        success=_("A test event is on its way. Its delivery is at the top of the list."),
        run=lambda: services.endpoint_send_test(actor=request.user, endpoint=endpoint),
    )


@capability_required(MANAGE, scope=SCOPE)
@require_GET
def delivery_detail(request, endpoint_id: int, delivery_id: int):
    delivery = get_delivery_for_user(request.user, endpoint_id, delivery_id, cap=MANAGE)
    table = AttemptTable(attempts_of(delivery))
    RequestConfig(request, paginate={"per_page": page_size(request)}).configure(table)
    payload = json.dumps(delivery.message.payload, ensure_ascii=False, indent=2)
    return render(
        request,
        "webhooks/delivery_detail.html",
        {"endpoint": delivery.endpoint, "delivery": delivery, "table": table, "payload": payload},
    )


@capability_required(MANAGE, scope=SCOPE)
@require_http_methods(["GET", "POST"])
def delivery_redeliver(request, endpoint_id: int, delivery_id: int):
    delivery = get_delivery_for_user(request.user, endpoint_id, delivery_id, cap=MANAGE)
    url = reverse("webhooks:delivery_detail", args=[endpoint_id, delivery.pk])
    form = ConfirmForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.delivery_redeliver(actor=request.user, delivery=delivery)
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("The event is being sent again."))
            return popup_done(request, url)
    return render(
        request,
        "webhooks/delivery_redeliver_modal.html",
        {
            "form": form,
            "endpoint": delivery.endpoint,
            "delivery": delivery,
            "action": reverse("webhooks:delivery_redeliver", args=[endpoint_id, delivery.pk]),
        },
    )
