import io
import itertools

import pytest
from django.core.management import call_command
from django.db.models import Count
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.management.commands.seed_demo import DEMO_PASSWORD
from accounts.models import User
from customers.models import ContractChange, CustomerAccount, CustomerStatus

pytestmark = pytest.mark.django_db


def test_seed_demo_spreads_customers_over_msps_and_states_with_consistent_history():
    call_command("seed_demo", "--force", "--customers", "120", stdout=io.StringIO())
    assert CustomerAccount.objects.count() == 120
    assert CustomerAccount.objects.values("organization").distinct().count() == 3
    statuses = set(CustomerAccount.objects.values_list("status", flat=True))
    assert {CustomerStatus.ACTIVE, CustomerStatus.PENDING_APPROVAL, CustomerStatus.CANCELLED} <= statuses
    for customer in CustomerAccount.objects.prefetch_related("status_changes", "contract_changes"):
        changes = list(customer.status_changes.all())
        assert changes[0].from_status == "" and changes[-1].to_status == customer.status
        assert all(a.to_status == b.from_status for a, b in itertools.pairwise(changes))
        contracts = list(customer.contract_changes.all())
        assert contracts[0].old_users is None and contracts[-1].new_users == customer.contracted_users
        assert customer.search_text
    assert not ContractChange.objects.values("customer").annotate(n=Count("id")).filter(n__gt=2).exists()

    call_command("seed_demo", "--force", "--customers", "120", stdout=io.StringIO())
    assert CustomerAccount.objects.count() == 120


def _seed() -> list[str]:
    out = io.StringIO()
    call_command("seed_demo", "--force", "--customers", "20", stdout=out)
    return out.getvalue().splitlines()


def _line(printed: list[str], email: str) -> str:
    (line,) = [line for line in printed if line.split()[:1] == [email]]
    return line


def test_seed_demo_says_that_every_staff_login_enrols_a_device_on_the_first_sign_in(client):
    printed = _seed()
    staff = [
        "operator@example.com",
        "pmsp-admin@example.com",
        "msp-admin@example.com",
        "msp-viewer@example.com",
        "support@example.com",
    ]
    enrols = "(two-factor: enrols a passkey or an authenticator app on the first sign-in)"
    for email in staff:
        assert _line(printed, email).endswith(enrols)
    summary = next(line for line in printed if line.startswith("Two-factor sign-in (operator@example.com, "))
    assert "msp-admin@example.com" in summary and "support@example.com" in summary
    assert "a passkey" in summary and "authenticator app" in summary and "6-digit code" in summary
    # As it says: the password of the operator and of an MSP admin leads to the enrolment.
    for email in ("operator@example.com", "msp-admin@example.com"):
        response = client.post("/accounts/login/", {"username": email, "password": DEMO_PASSWORD})
        assert response["Location"].startswith(reverse("two_factor_enrol"))
        client.post(reverse("logout"))

    TOTPDevice.objects.create(user=User.objects.get(email="operator@example.com"), name="phone", confirmed=True)
    printed = _seed()
    assert _line(printed, "operator@example.com").endswith("(two-factor)")
    assert (
        "Two-factor sign-in (operator@example.com): after the password, enter the 6-digit code of the "
        "authenticator app enrolled earlier."
    ) in printed
