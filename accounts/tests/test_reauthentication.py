"""Re-authentication before sensitive actions (msp_portal.permissions.SENSITIVE_VIEWS): the check
page and popup, and the return to the action with its data."""

import datetime as dt
import re

import pytest
from django.conf import settings
from django.urls import reverse

from accounts.models import User
from accounts.tests.factories import passkey_for
from audit.models import AuditEvent
from conftest import PASSWORD, totp_token, two_factor_device

START = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC)
INVITE = {"name": "新人 花子", "email": "new@test.example", "role": "sales", "language": "ja"}


@pytest.fixture
def stale(time_machine):
    """Time frozen at START; `stale()` moves it past the re-authentication window."""
    time_machine.move_to(START, tick=False)

    def move(seconds=settings.PORTAL_REAUTHENTICATION_SECONDS + 1):
        time_machine.move_to(START + dt.timedelta(seconds=seconds), tick=False)

    return move


def _fields(html: str) -> dict[str, list[str]]:
    """The hidden fields of the confirmation form."""
    form = re.search(r'data-testid="reauthenticate-continue-form">(.*?)</form>', html, re.S).group(1)
    fields: dict[str, list[str]] = {}
    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form):
        if name != "csrfmiddlewaretoken":
            fields.setdefault(name, []).append(value)
    return fields


def test_a_sensitive_action_within_ten_minutes_of_the_sign_in_does_not_ask(client_for, msp_admin, stale):
    client = client_for(msp_admin)
    stale(settings.PORTAL_REAUTHENTICATION_SECONDS - 1)
    response = client.post(reverse("staff_invite"), INVITE)
    assert response.status_code == 302 and response["Location"] == reverse("staff_list")
    assert User.objects.filter(email="new@test.example").exists()


def test_a_stale_invite_asks_for_a_code_and_then_completes_with_its_data(client_for, msp_admin, stale):
    client = client_for(msp_admin)
    device = two_factor_device(msp_admin)
    stale()
    response = client.post(reverse("staff_invite"), INVITE)
    assert response.status_code == 303
    check_url = response["Location"]
    assert check_url.startswith(reverse("reauthenticate") + "?pending=")
    assert not User.objects.filter(email="new@test.example").exists()
    page = client.get(check_url)
    assert page.status_code == 200 and 'name="token"' in page.content.decode()
    # A wrong code is refused and nothing happens.
    refused = client.post(check_url, {"token": "000000"})
    assert 'data-testid="reauthenticate-continue-form"' not in refused.content.decode()
    assert "コードが正しくないか" in refused.content.decode()
    stale(settings.PORTAL_REAUTHENTICATION_SECONDS + 10)  # past django-otp's delay after a wrong code
    confirmed = client.post(check_url, {"token": totp_token(device)})
    html = confirmed.content.decode()
    fields = _fields(html)
    assert fields == {key: [value] for key, value in INVITE.items()}
    assert f'action="{reverse("staff_invite")}"' in html
    done = client.post(reverse("staff_invite"), {key: values[0] for key, values in fields.items()})
    assert done.status_code == 302
    user = User.objects.get(email="new@test.example")
    assert user.name == "新人 花子" and user.membership.role == "sales"
    # The stashed submission is used once.
    assert client.get(check_url).status_code == 302


def test_a_user_without_a_second_factor_confirms_with_the_password(client_for, msp_admin, stale):
    msp_admin.organization.require_two_factor = False
    msp_admin.organization.save(update_fields=["require_two_factor"])
    client = client_for(msp_admin)
    stale()
    check_url = client.post(reverse("staff_invite"), INVITE)["Location"]
    page = client.get(check_url).content.decode()
    assert 'name="password"' in page and 'name="token"' not in page
    refused = client.post(check_url, {"password": "wrong-password"})
    assert "パスワードが正しくありません" in refused.content.decode()
    confirmed = client.post(check_url, {"password": PASSWORD})
    assert _fields(confirmed.content.decode())["email"] == ["new@test.example"]


def test_under_htmx_the_check_and_the_confirmation_are_popups(client_for, msp_admin, stale):
    client = client_for(msp_admin)
    device = two_factor_device(msp_admin)
    stale()
    htmx = {"HX-Request": "true"}
    check_url = client.post(reverse("staff_invite"), INVITE, headers=htmx)["Location"]
    popup = client.get(check_url, headers=htmx).content.decode()
    assert popup.lstrip().startswith('<div class="modal-header">')
    assert f'hx-post="{check_url}"' in popup.replace("&amp;", "&")
    confirmed = client.post(check_url, {"token": totp_token(device)}, headers=htmx).content.decode()
    assert confirmed.lstrip().startswith('<div class="modal-header">')
    assert f'hx-post="{reverse("staff_invite")}"' in confirmed
    done = client.post(reverse("staff_invite"), {k: v[0] for k, v in _fields(confirmed).items()}, headers=htmx)
    assert done.headers["HX-Redirect"] == reverse("staff_list")


def test_a_passkey_only_user_is_offered_the_passkey(client_for, msp_admin, stale):
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    passkey = passkey_for(msp_admin)
    client = client_for(msp_admin)
    TOTPDevice.objects.filter(user=msp_admin).delete()
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = passkey.persistent_id
    session.save()
    stale()
    check_url = client.post(reverse("staff_invite"), INVITE)["Location"]
    page = client.get(check_url).content.decode()
    assert 'id="passkey-verification-placeholder"' in page
    assert 'name="token"' not in page and 'name="password"' not in page
    # The passkey's script comes back to this page, which then shows the waiting action.
    assert f'name="next" value="{check_url}"' in page.replace("&amp;", "&")


def test_a_made_up_pending_token_replays_nothing(client_for, msp_admin, stale):
    client = client_for(msp_admin)
    device = two_factor_device(msp_admin)
    stale()
    confirmed = client.post(reverse("reauthenticate") + "?pending=made-up", {"token": totp_token(device)})
    # No waiting action: the check returns to the profile.
    assert confirmed.status_code == 302 and confirmed["Location"] == reverse("profile")


def test_a_small_point_move_does_not_ask_but_one_above_the_threshold_does(client_for, msp_admin, msp_org, stale):
    from customers.tests.factories import CustomerAccountFactory
    from points.services import points_purchase

    customer = CustomerAccountFactory(organization=msp_org)
    points_purchase(actor=None, organization=msp_org, amount=50_000, order_reference="PO", idempotency_key="p1")
    msp_org.reauthentication_point_threshold = 1_000
    msp_org.save(update_fields=["reauthentication_point_threshold"])
    client = client_for(msp_admin)
    url = reverse("points:change", args=[customer.pk])
    stale()

    def form_token():
        return re.search(r'name="token" value="([^"]+)"', client.get(url).content.decode()).group(1)

    small = client.post(url, {"operation": "add", "amount": "1000", "token": form_token()})
    assert small.status_code == 302 and small["Location"] != ""
    assert AuditEvent.objects.filter(action="points.allocate").count() == 1
    large = client.post(url, {"operation": "add", "amount": "1,001", "token": form_token()})
    assert large.status_code == 303 and large["Location"].startswith(reverse("reauthenticate"))
    assert AuditEvent.objects.filter(action="points.allocate").count() == 1


def test_the_threshold_is_an_audited_organization_setting_with_clear_errors(client_for, msp_admin, msp_org):
    client = client_for(msp_admin)
    url = reverse("organization_settings")
    for junk in ("0", "-5", "abc", "<script>"):
        response = client.post(url, {"section": "reauthentication", "points": junk})
        assert response.status_code == 200 and 'data-testid="field-error-points"' in response.content.decode()
    msp_org.refresh_from_db()
    assert msp_org.reauthentication_point_threshold == 10_000
    assert client.post(url, {"section": "reauthentication", "points": "2500"}).status_code == 302
    msp_org.refresh_from_db()
    assert msp_org.reauthentication_point_threshold == 2500
    event = AuditEvent.objects.get(action="organization.reauthentication_threshold")
    assert event.before == {"reauthentication_point_threshold": 10_000}
    assert event.after == {"reauthentication_point_threshold": 2500}


def test_turning_the_requirement_off_asks_again_and_is_audited(client_for, msp_admin, msp_org, stale):
    client = client_for(msp_admin)
    device = two_factor_device(msp_admin)
    stale()
    check_url = client.post(reverse("organization_settings"), {"section": "two_factor"})["Location"]
    msp_org.refresh_from_db()
    assert msp_org.require_two_factor
    fields = _fields(client.post(check_url, {"token": totp_token(device)}).content.decode())
    assert fields == {"section": ["two_factor"]}
    assert client.post(reverse("organization_settings"), {"section": "two_factor"}).status_code == 302
    msp_org.refresh_from_db()
    assert not msp_org.require_two_factor
    event = AuditEvent.objects.get(action="organization.two_factor")
    assert event.actor == msp_admin
    assert event.before == {"require_two_factor": True} and event.after == {"require_two_factor": False}


def test_the_check_page_needs_a_signed_in_user_and_rejects_put(client, client_for, msp_admin):
    assert client.get(reverse("reauthenticate"))["Location"].startswith(reverse("login"))
    assert client_for(msp_admin).put(reverse("reauthenticate")).status_code == 405


def test_wrong_passwords_at_the_check_end_the_session(client_for, msp_admin, stale):
    msp_admin.organization.require_two_factor = False
    msp_admin.organization.save(update_fields=["require_two_factor"])
    client = client_for(msp_admin)
    stale()
    check_url = client.post(reverse("staff_invite"), INVITE)["Location"]
    for _attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        assert client.post(check_url, {"password": "wrong-password"}).status_code == 200
    response = client.post(check_url, {"password": "wrong-password"})
    assert response["Location"] == reverse("login")
    assert client.get(reverse("dashboard"))["Location"].startswith(reverse("login"))
    assert not User.objects.filter(email="new@test.example").exists()


def _token(client, url: str) -> str:
    return re.search(r'name="token" value="([^"]+)"', client.get(url).content.decode()).group(1)


def test_a_bulk_replenishment_asks_only_when_its_accounts_need_more_than_the_threshold(
    client_for, msp_admin, msp_org, stale
):
    from customers.tests.factories import CustomerAccountFactory
    from points.services import points_purchase

    points_purchase(actor=None, organization=msp_org, amount=50_000, order_reference="PO", idempotency_key="p1")
    msp_org.reauthentication_point_threshold = 1_000
    msp_org.save(update_fields=["reauthentication_point_threshold"])
    small = [CustomerAccountFactory(organization=msp_org, estimated_balance=-400).pk for _ in range(2)]
    large = [CustomerAccountFactory(organization=msp_org, estimated_balance=-600).pk for _ in range(2)]
    client = client_for(msp_admin)
    url = reverse("points:replenish")
    stale()
    # 800 points in all: at or below the threshold, done without a check.
    done = client.post(url, {"ids": small, "token": _token(client, f"{url}?ids={small[0]}&ids={small[1]}")})
    assert done.status_code == 302
    assert AuditEvent.objects.filter(action="points.replenish").count() == 2
    # 1,200 points: the preview still opens, the confirmation asks first and moves nothing.
    preview = client.get(f"{url}?ids={large[0]}&ids={large[1]}")
    assert preview.status_code == 200
    token = re.search(r'name="token" value="([^"]+)"', preview.content.decode()).group(1)
    asked = client.post(url, {"ids": large, "token": token})
    assert asked.status_code == 303 and asked["Location"].startswith(reverse("reauthenticate"))
    assert AuditEvent.objects.filter(action="points.replenish").count() == 2


def test_the_operators_large_sale_adjustment_and_recorded_request_ask_small_ones_do_not(
    client_for, operator_user, operator_org, msp_org, msp_admin, stale
):
    from points.models import PurchaseRequest
    from points.purchase_requests import purchase_request_create

    operator_org.reauthentication_point_threshold = 1_000
    operator_org.save(update_fields=["reauthentication_point_threshold"])
    requests = {
        amount: purchase_request_create(
            actor=msp_admin,
            organization=msp_org,
            amount=amount,
            order_reference=f"PO-{amount}",
            idempotency_key=f"r{amount}",
        )
        for amount in (1_000, 1_001)
    }
    client = client_for(operator_user)
    stale()
    purchase_url = reverse("points:purchase_new")
    sale = {"organization": msp_org.pk, "order_reference": "PO-9"}
    sold = client.post(purchase_url, {**sale, "amount": "900", "token": _token(client, purchase_url)})
    assert sold.status_code == 302
    asked = client.post(purchase_url, {**sale, "amount": "1,001", "token": _token(client, purchase_url)})
    assert asked.status_code == 303 and asked["Location"].startswith(reverse("reauthenticate"))

    adjustment_url = reverse("points:adjustment_new")
    adjustment = {"target": "pool", "organization": msp_org.pk, "reason": "訂正"}
    asked = client.post(adjustment_url, {**adjustment, "amount": "-1001", "token": _token(client, adjustment_url)})
    assert asked.status_code == 303 and asked["Location"].startswith(reverse("reauthenticate"))

    record = client.post(reverse("points:purchase_request_record", args=[requests[1_000].pk]))
    assert record.status_code == 302
    asked = client.post(reverse("points:purchase_request_record", args=[requests[1_001].pk]))
    assert asked.status_code == 303 and asked["Location"].startswith(reverse("reauthenticate"))
    assert PurchaseRequest.objects.get(pk=requests[1_001].pk).status == requests[1_001].status
    assert AuditEvent.objects.filter(action__in=["points.purchase", "points.adjust"]).count() == 2
