"""Refusals the user sees, and what becomes of a transaction that another one got in the way of.

A deadlock, a lock wait that timed out or a serialization failure rolls a transaction back
because of another one; running it again can succeed. `retried_atomic` is the transaction of a
service whose whole unit can simply be re-run: it runs once more, and if that overlaps too the
user is told (`Overlapped`, a DomainError, shown as the view shows any refusal).
`msp_portal.middleware.OverlapMiddleware` answers with the same message should one escape
anywhere else — never a 500.
"""

from __future__ import annotations

import functools
import sqlite3

from django.db import DatabaseError, transaction
from django.utils.translation import gettext_lazy

OVERLAP_MESSAGE = gettext_lazy("This overlapped with another operation. Please try again.")

# PostgreSQL: deadlock_detected, lock_not_available (lock_timeout, NOWAIT), serialization_failure.
_OVERLAP_SQLSTATES = frozenset({"40P01", "55P03", "40001"})


class DomainError(Exception):
    """A business rule refused the action. The message is translated and shown to the user as
    it is; views turn it into a form error or a flash message and change nothing."""


class Overlapped(DomainError):
    """The action overlapped with another one twice; nothing was changed."""

    def __init__(self):
        super().__init__(str(OVERLAP_MESSAGE))


def is_overlap(exc: BaseException) -> bool:
    """Whether a database error means "another transaction was in the way" (see the module
    docstring), rather than a fault."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if getattr(exc, "sqlstate", None) in _OVERLAP_SQLSTATES:
            return True
        if isinstance(exc, sqlite3.OperationalError) and "database is locked" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def retried_atomic(func):
    """`transaction.atomic` for a service that is one transaction: when it overlaps with another
    one (`is_overlap`) it is rolled back and run once more; a second overlap raises Overlapped.
    Inside an outer transaction it is a plain savepoint: the outermost unit decides, since only
    a whole transaction can be re-run."""
    atomic = transaction.atomic(func)

    @functools.wraps(func)
    def run(*args, **kwargs):
        if transaction.get_connection().in_atomic_block:
            return atomic(*args, **kwargs)
        try:
            return atomic(*args, **kwargs)
        except DatabaseError as exc:
            if not is_overlap(exc):
                raise
        try:
            return atomic(*args, **kwargs)
        except DatabaseError as exc:
            if not is_overlap(exc):
                raise
            raise Overlapped() from exc

    return run
