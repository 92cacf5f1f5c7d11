"""The two-factor banner (accounts/partials/two_factor_banner.html): a member of an organization
whose grace period runs, without a second factor, is told until when they may still sign in
without one."""

from __future__ import annotations

from .signin import HAS_DEVICE_SESSION_KEY


def two_factor(request):
    cached = getattr(request, "_portal_two_factor_context", None)
    if cached is None:
        cached = _two_factor(request)
        if request is not None:
            request._portal_two_factor_context = cached
    return cached


def _two_factor(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    # A user with a second factor never sees it; that is known from the session, without a query.
    if request.session.get(HAS_DEVICE_SESSION_KEY, False):
        return {}
    from .selectors import user_has_two_factor_device, user_two_factor_deadline

    deadline = user_two_factor_deadline(user)
    if deadline is None or user_has_two_factor_device(user):
        return {}
    return {"two_factor_banner_deadline": deadline}
