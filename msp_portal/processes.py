"""Start-up of worker processes that a command starts itself ("spawn": a fresh interpreter).

Kept free of model imports: the pool unpickles the initializer before Django is set up.
"""

from __future__ import annotations


def start_django(database: dict) -> None:
    """Set Django up in a fresh interpreter, on the caller's database (a command or a test may
    have pointed the connection elsewhere than the settings say)."""
    import django

    django.setup()
    from django.db import connections

    connections["default"].settings_dict.update(database)
