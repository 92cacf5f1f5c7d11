"""customers.hooks: what the apps above fill in, and what happens when one is missing."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from customers import hooks
from customers.hooks import Hook


def test_a_hook_nobody_provided_fails_loudly_instead_of_skipping_a_money_movement():
    hook = Hook("cancellation_settle", "points")
    with pytest.raises(ImproperlyConfigured, match="points"):
        hook(actor=None, customer=None, today=None, cancellation_date=None)


def test_every_hook_is_provided_by_the_installed_apps():
    provided = [value for value in vars(hooks).values() if isinstance(value, Hook)]
    assert len(provided) == 9
    assert all(hook._function is not None for hook in provided)
