"""What a merge of two customer accounts (DESIGN.md §11) does to their people: the absorbed
account's service users move to the survivor, and its administrators become service users of
the survivor (the seed's rule: 「以前の管理者はマージしたアカウントの通常ユーザーとなります」) unless the
approver keeps them as administrators of the survivor. Filled into customers.hooks
(merge_people_preview, merge_people) by CustomerPortalConfig.ready; the merge itself (locks,
points, statuses) is the merges app's.
"""

from __future__ import annotations

import re
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from audit.services import audit_record
from customers.models import CustomerAccount
from msp_portal.errors import DomainError

from .models import USER_NAME_MAX_LENGTH, CustomerAdmin, ServiceUser

_NOT_IN_NAME = re.compile(r"[^a-z0-9._@-]")


def user_name_for(email: str) -> str:
    """The service user name a former administrator gets: their sign-in e-mail address, with any
    character a user name cannot hold replaced by a hyphen."""
    name = _NOT_IN_NAME.sub("-", email.strip().lower())[:USER_NAME_MAX_LENGTH]
    return name if name[:1].isalnum() else ("u" + name)[:USER_NAME_MAX_LENGTH]


def merge_people_preview(absorbed: CustomerAccount, survivor: CustomerAccount, keep_admins: bool) -> dict[str, Any]:
    """Who moves and what the survivor has afterwards: the absorbed account's active admins (kept
    as admins or becoming users), its service users, the user names that would clash with the
    survivor's, and the survivor's active users after the merge against the summed contract."""
    admins = list(CustomerAdmin.objects.filter(customer=absorbed, is_active=True).select_related("user").order_by("id"))
    users = list(ServiceUser.objects.filter(customer=absorbed).order_by("user_name"))
    taken = set(ServiceUser.objects.filter(customer=survivor).values_list("user_name", flat=True))
    names = [user.user_name for user in users]
    if not keep_admins:
        names += [user_name_for(admin.user.email) for admin in admins]
    clashes = sorted({name for name in names if name in taken} | {name for name in names if names.count(name) > 1})
    survivor_active = ServiceUser.objects.filter(customer=survivor, is_active=True).count()
    moving_active = sum(1 for user in users if user.is_active) + (0 if keep_admins else len(admins))
    return {
        "admins": admins,
        "users": users,
        "active_users_moving": sum(1 for user in users if user.is_active),
        "keep_admins": keep_admins,
        "clashes": clashes,
        "active_users_after": survivor_active + moving_active,
        "contracted_users_after": survivor.contracted_users + absorbed.contracted_users,
    }


def merge_people(
    *, actor: User | None, absorbed: CustomerAccount, survivor: CustomerAccount, keep_admins: bool
) -> dict[str, Any]:
    """Move the absorbed account's people to the survivor, in the caller's transaction (both
    customer rows locked by it, the survivor's contracted users already summed). Refuses, with
    nothing changed, user names that clash and more active users than the survivor's contract
    (it cannot happen with the users alone, whose contracts add up, but former admins become
    users). Returns what moved, for the merge's audit event."""
    preview = merge_people_preview(absorbed, survivor, keep_admins)
    if preview["clashes"]:
        raise DomainError(
            _("These user names exist in both accounts: %(names)s. Rename or disable them in one account first.")
            % {"names": ", ".join(preview["clashes"])}
        )
    if preview["active_users_after"] > survivor.contracted_users:
        raise DomainError(
            _(
                "After the merge the surviving account would have %(after)s active users, more than its "
                "%(limit)s contracted users. Keep the former administrators as administrators, or disable users first."
            )
            % {"after": preview["active_users_after"], "limit": survivor.contracted_users}
        )
    now = timezone.now()
    admins = preview["admins"]
    moved_users = ServiceUser.objects.filter(customer=absorbed).update(customer=survivor, updated_at=now)
    became_users = []
    if keep_admins:
        CustomerAdmin.objects.filter(pk__in=[admin.pk for admin in admins]).update(customer=survivor)
    else:
        for admin in admins:
            user_name = user_name_for(admin.user.email)
            ServiceUser.objects.create(
                customer=survivor,
                user_name=user_name,
                email=admin.user.email,
                display_name=admin.user.name or admin.user.email,
            )
            became_users.append(user_name)
        CustomerAdmin.objects.filter(pk__in=[admin.pk for admin in admins]).update(is_active=False)
        User.objects.filter(pk__in=[admin.user_id for admin in admins]).update(is_active=False)
    detail = {
        "service_users_moved": moved_users,
        "admins_kept": [admin.user.email for admin in admins] if keep_admins else [],
        "admins_became_users": became_users,
    }
    for customer in (absorbed, survivor):
        audit_record(
            actor=actor,
            action="customer_portal.merge_people",
            obj=customer,
            organization=getattr(actor, "organization", None) or customer.organization,
            before={"absorbed_code": absorbed.account_code},
            after={"survivor_code": survivor.account_code, **detail},
        )
    return detail
