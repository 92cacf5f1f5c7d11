"""The settlement previews (DESIGN.md §6): the 解約 popup shows today's settlement, the 解約予定日
popup the one of the chosen date (the 25ths before it charged first, an estimate), and both,
the dry run and the settlement itself are one computation (points.settlement.settlement_for)."""

import datetime as dt
import re
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from billing_jobs.services import run_billing
from customers.cancellation import customer_schedule_cancellation
from customers.models import CustomerAccount
from points.models import Transfer, TransferKind
from points.settlement import settlement_for

from .factories import active_customer, at, balance_of

pytestmark = pytest.mark.django_db

D = dt.date
TODAY = D(2026, 12, 3)
HTMX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(at(TODAY, 14), tick=False):
        yield


@pytest.fixture
def customer(msp_org):
    # Balance 50, 50 users: each 25th charges 10 + (50 − 10) × 1 = 50 under the default rule.
    return active_customer(msp_org, activated=at(D(2026, 11, 26)), users=50, points=50)


def date_url(customer, day: str | None = None) -> str:
    url = f"/customers/{customer.pk}/cancellation-date/"
    return url if day is None else f"{url}?cancellation_date={day}"


def figures(html: str) -> dict[str, str]:
    return {
        name: re.search(rf'data-testid="settlement-{name}">([^<]*)<', html).group(1) for name in ("topup", "forfeit")
    }


def test_the_scheduled_date_popup_estimates_the_settlement_on_that_date(client_for, msp_admin, customer):
    html = client_for(msp_admin).get(date_url(customer, "2027-01-31"), headers=HTMX).content.decode()
    # 12/25 and 1/25 come first: 50 − 50 − 50 = −50, a top-up of 50.
    assert figures(html) == {"topup": "50", "forfeit": "0"}
    assert "2027/01/31の解約時の精算（推定）" in html
    assert re.findall(r'data-testid="settlement-charge"><th>([^<]*)</th><td class="text-end">(\d+)<', html) == [
        ("2026/12/25の消費（推定）", "50"),
        ("2027/01/25の消費（推定）", "50"),
    ]


def test_a_cancellation_dated_the_25th_comes_before_that_days_charge(client_for, msp_admin, customer):
    html = client_for(msp_admin).get(date_url(customer, "2026-12-25"), headers=HTMX).content.decode()
    assert figures(html) == {"topup": "0", "forfeit": "50"}
    assert 'data-testid="settlement-charge"' not in html
    html = client_for(msp_admin).get(date_url(customer, "2026-12-26"), headers=HTMX).content.decode()
    assert figures(html) == {"topup": "0", "forfeit": "0"}


def test_the_immediate_cancel_popup_keeps_todays_figures(client_for, msp_admin, customer):
    customer_schedule_cancellation(actor=msp_admin, customer=customer, cancellation_date=D(2027, 1, 31), agreed=True)
    html = client_for(msp_admin).get(f"/customers/{customer.pk}/cancel/", headers=HTMX).content.decode()
    assert figures(html) == {"topup": "0", "forfeit": "50"}
    assert "推定" not in html


def test_the_date_popup_previews_the_date_already_set_and_asks_for_one_otherwise(client_for, msp_admin, customer):
    client = client_for(msp_admin)
    html = client.get(date_url(customer), headers=HTMX).content.decode()
    assert 'data-testid="settlement-hint"' in html and 'data-testid="settlement-preview"' not in html
    for bad in ("2026-12-03", "2026-11-30", "not-a-date", ""):
        html = client.get(date_url(customer, bad), headers=HTMX).content.decode()
        assert 'data-testid="settlement-hint"' in html, bad
    customer_schedule_cancellation(actor=msp_admin, customer=customer, cancellation_date=D(2027, 1, 31), agreed=True)
    html = client.get(date_url(customer), headers=HTMX).content.decode()
    assert figures(html) == {"topup": "50", "forfeit": "0"}
    # The date field refreshes the preview for the date chosen in it.
    assert f'hx-get="{date_url(customer)}"' in html and 'hx-select="#settlement-preview"' in html


def test_a_refused_date_is_re_rendered_with_the_preview_of_a_valid_one(client_for, msp_admin, customer):
    html = client_for(msp_admin).post(date_url(customer), {"cancellation_date": "2027-01-31"}, headers=HTMX)
    html = html.content.decode()
    assert "同意する」にチェック" in html
    assert figures(html) == {"topup": "50", "forfeit": "0"}


def test_the_estimate_is_what_the_run_then_settles_and_the_dry_run_says_so(msp_admin, customer):
    estimate = settlement_for(customer, cancellation_date=D(2027, 1, 31))
    assert (estimate.owed, estimate.topup, estimate.forfeit, estimate.estimated) == (100, 50, 0, True)
    customer_schedule_cancellation(actor=msp_admin, customer=customer, cancellation_date=D(2027, 1, 31), agreed=True)
    for day in (D(2026, 12, 25), D(2027, 1, 25)):
        with time_machine.travel(at(day, 1), tick=False):
            run_billing(day)
    with time_machine.travel(at(D(2027, 1, 31), 1), tick=False):
        out = StringIO()
        call_command("run_daily_billing", "--date", "2027-01-31", "--dry-run", stdout=out)
        assert "dated 2027-01-31: charge first 0, top-up 50, forfeit 0" in out.getvalue()
        run_billing(D(2027, 1, 31))
    assert CustomerAccount.objects.get(pk=customer.pk).status == "cancelled"
    assert Transfer.objects.get(customer=customer, kind=TransferKind.SETTLEMENT_TOPUP).amount == estimate.topup
    assert balance_of(customer) == 0


def test_a_dry_run_of_a_late_run_charges_the_months_the_settlement_will_charge(msp_admin, customer):
    customer_schedule_cancellation(actor=msp_admin, customer=customer, cancellation_date=D(2027, 1, 31), agreed=True)
    # No run since: on the date, both 25ths are still owed; the settlement charges them first.
    with time_machine.travel(at(D(2027, 2, 2), 1), tick=False):
        out = StringIO()
        call_command("run_daily_billing", "--date", "2027-02-02", "--dry-run", stdout=out)
        assert "dated 2027-01-31: charge first 100, top-up 50, forfeit 0" in out.getvalue()
        run_billing(D(2027, 2, 2))
    charges = Transfer.objects.filter(customer=customer, kind=TransferKind.CONSUMPTION).order_by("period")
    assert [(t.period, t.amount) for t in charges] == [("2026-12", 50), ("2027-01", 50)]
    assert Transfer.objects.get(customer=customer, kind=TransferKind.SETTLEMENT_TOPUP).amount == 50
