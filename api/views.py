"""The API keys page of an organization's admins: the keys with their last use, a popup that
creates one (its secret shown once, then never again) and one that revokes one. Creating and
revoking ask for a recent re-authentication (SENSITIVE_VIEWS)."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from msp_portal.errors import DomainError
from msp_portal.htmx import popup_done
from msp_portal.permissions import Cap, capability_required

from . import services
from .forms import ApiKeyForm
from .scopes import Scope
from .selectors import api_keys_of, get_api_key_for_user


@capability_required(Cap.API_KEYS_MANAGE)
@require_GET
def api_key_list(request):
    keys = list(api_keys_of(request.user).order_by("-created")[:500])
    labels = dict(Scope.choices)
    return render(request, "api/key_list.html", {"keys": keys, "scope_labels": labels})


@capability_required(Cap.API_KEYS_MANAGE)
@require_http_methods(["GET", "POST"])
def api_key_create(request):
    form = ApiKeyForm(request.POST or None, organization=request.user.organization)
    if request.method == "POST" and form.is_valid():
        try:
            api_key, secret = services.api_key_create(
                actor=request.user,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                expires_on=form.cleaned_data["expires_on"],
            )
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            # The secret is in this answer only: it is stored as a hash.
            response = render(request, "api/key_created_modal.html", {"api_key": api_key, "secret": secret})
            response["Cache-Control"] = "no-store"
            return response
    return render(request, "api/key_create_modal.html", {"form": form})


@capability_required(Cap.API_KEYS_MANAGE, scope=(get_api_key_for_user, "prefix"))
@require_http_methods(["GET", "POST"])
def api_key_revoke(request, prefix: str):
    api_key = get_api_key_for_user(request.user, prefix)
    if request.method == "POST":
        services.api_key_revoke(actor=request.user, api_key=api_key)
        messages.success(request, _("The API key %(name)s has been revoked.") % {"name": api_key.name})
        return popup_done(request, reverse("api_key_list"))
    return render(request, "api/key_revoke_modal.html", {"api_key": api_key})
