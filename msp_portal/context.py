"""Who is acting, from where: set once per request (or job) and read by the audit helper.

Services take the acting user explicitly; the request's IP address and the "acting as
customer" context travel here so that every service need not pass them along.
"""

from __future__ import annotations

import contextvars
from contextlib import contextmanager
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class ActingContext:
    ip: str | None = None
    # The customer account whose admin portal a staff member is working in (DESIGN.md §10).
    acting_customer_id: int | None = None
    # "web", "job", "command", "api": where the mutation came from.
    channel: str = "web"
    # Who the audit trail names as the actor instead of the user, when the user acts through
    # something of their own (an API key: "API key <name> (<prefix>)").
    actor_label: str = ""


# The default is an immutable (frozen) value, so sharing it is safe.
_current: contextvars.ContextVar[ActingContext] = contextvars.ContextVar(
    "portal_acting_context",
    default=ActingContext(channel="job"),  # noqa: B039
)


def current() -> ActingContext:
    return _current.get()


@contextmanager
def acting(**kwargs):
    """Run a block with an acting context (used by middleware, commands and tasks)."""
    token = _current.set(ActingContext(**kwargs))
    try:
        yield
    finally:
        _current.reset(token)


def update(**changes) -> None:
    """Change the current context for the rest of the enclosing `acting` block, which restores
    what was before it (an API request knows its key only once it is authenticated)."""
    _current.set(replace(_current.get(), **changes))
