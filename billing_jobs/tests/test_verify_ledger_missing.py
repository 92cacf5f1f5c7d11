import datetime as dt
import io

import pytest
import time_machine
from django.core.management import call_command

from customers.tests.factories import CustomerAccountFactory
from msp_portal import dates

pytestmark = pytest.mark.django_db


def test_verify_ledger_reports_an_eligible_account_that_was_not_charged(msp_org):
    with time_machine.travel(dt.datetime(2026, 11, 26, 9, tzinfo=dates.TOKYO), tick=False):
        customer = CustomerAccountFactory(
            organization=msp_org, status="active", activated_at=dates.start_of_day(dt.date(2026, 11, 1))
        )
        out = io.StringIO()
        with pytest.raises(SystemExit) as exit_info:
            call_command("verify_ledger", stdout=out, stderr=out)
        assert exit_info.value.code == 1
        assert "2026-11" in out.getvalue()
        assert str(customer.pk) in out.getvalue()
        call_command("run_daily_billing", "--date", "2026-11-26", stdout=io.StringIO())
        call_command("verify_ledger", stdout=io.StringIO())
