"""The customer account's lifecycle (DESIGN.md §3): its statuses, which transitions exist, and
every named set of statuses the portal decides on. The one place to read what an account in a
status may do; the services (`customers.services`) enforce it under the row lock.

    (registered) → pending_approval → provisioning → active → cancelled
                    ↓  ↑               ↓  ↑           ↘ merged
                  rejected ←┘    provisioning_failed
                    ↓
                  withdrawn (also from pending_approval)
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class CustomerStatus(models.TextChoices):
    PENDING_APPROVAL = "pending_approval", _("Pending approval")
    REJECTED = "rejected", _("Returned")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    PROVISIONING = "provisioning", _("Provisioning")
    PROVISIONING_FAILED = "provisioning_failed", _("Provisioning failed")
    ACTIVE = "active", _("Active")
    CANCELLED = "cancelled", _("Cancelled")
    MERGED = "merged", _("Merged")


S = CustomerStatus

# The transitions of DESIGN.md §3. "" is "not yet registered".
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    "": frozenset({S.PENDING_APPROVAL}),
    S.PENDING_APPROVAL: frozenset({S.PROVISIONING, S.REJECTED, S.WITHDRAWN}),
    S.REJECTED: frozenset({S.PENDING_APPROVAL, S.WITHDRAWN}),
    S.PROVISIONING: frozenset({S.ACTIVE, S.PROVISIONING_FAILED}),
    S.PROVISIONING_FAILED: frozenset({S.PROVISIONING}),
    S.ACTIVE: frozenset({S.CANCELLED, S.MERGED}),
    S.WITHDRAWN: frozenset(),
    S.CANCELLED: frozenset(),
    S.MERGED: frozenset(),
}


def can_transition(from_status: str, to_status: str) -> bool:
    return to_status in ALLOWED_TRANSITIONS[from_status]


# Where the lifecycle ends: nothing moves the account on from here.
TERMINAL_STATUSES = (S.CANCELLED, S.WITHDRAWN, S.REJECTED, S.MERGED)
# An account that has left the lifecycle is a record: its data no longer changes. (A returned
# application is terminal for the operator's queue but the MSP may still correct it.)
READ_ONLY_STATUSES = (S.WITHDRAWN, S.CANCELLED, S.MERGED)
# The account code is the tenant id: fixed once the operator approved it.
CODE_EDITABLE_STATUSES = (S.PENDING_APPROVAL, S.REJECTED)
# An application not yet approved: cancelling it withdraws it (no points involved).
WITHDRAWABLE_STATUSES = (S.PENDING_APPROVAL, S.REJECTED)
# The rows that carry a 解約 button: an active account (cancelled) or an application (withdrawn).
CANCEL_BUTTON_STATUSES = (S.ACTIVE, *WITHDRAWABLE_STATUSES)
# The approval queue page (承認待ち): applications and accounts the operator is setting up.
APPROVAL_QUEUE_STATUSES = (S.PENDING_APPROVAL, S.REJECTED, S.PROVISIONING, S.PROVISIONING_FAILED)
# The operator still owes the 3-business-day promise; the operator's dashboard counts these.
AWAITING_OPERATOR_STATUSES = (S.PENDING_APPROVAL, S.PROVISIONING, S.PROVISIONING_FAILED)
# The accounts whose points may move (追加, 削除, replenish, corrections): those that can be
# charged or settled — provisioning (it becomes active), provisioning failed (it is retried)
# and active. An application holds no points; a cancelled or merged account's wallet moves
# only by its settlement (DESIGN.md §5.1).
POINTS_STATUSES = (S.PROVISIONING, S.PROVISIONING_FAILED, S.ACTIVE)
# An account that ran and ended: its wallet was settled to 0.
ENDED_STATUSES = (S.CANCELLED, S.MERGED)
# The accounts whose admins may sign in to the customer portal (a cancelled or merged account's
# admins keep read access to their history).
PORTAL_STATUSES = (S.ACTIVE, S.CANCELLED, S.MERGED)
