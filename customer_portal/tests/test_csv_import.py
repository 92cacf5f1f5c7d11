"""ユーザ一括登録: upload → preview with per-row errors → confirm, all or nothing."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audit.models import AuditEvent
from customer_portal.models import ServiceUser, ServiceUserImport
from customer_portal.tests.factories import ServiceUserFactory

pytestmark = pytest.mark.django_db

HEADER = "user_name,email,display_name,department\n"
GOOD = HEADER + "taro,taro@customer.example,山田 太郎,営業部\nhanako,hanako@customer.example,佐藤 花子,\n"


def _url(name, customer, *args):
    return reverse(f"customer_portal:{name}", args=[customer.account_code, *args])


def _upload(client, customer, content, name="users.csv"):
    data = content if isinstance(content, bytes) else content.encode("utf-8")
    return client.post(_url("user_bulk", customer), {"file": SimpleUploadedFile(name, data, content_type="text/csv")})


def _preview(client, customer, response):
    assert response.status_code == 302, response.content.decode()[:2000]
    return client.get(response["Location"])


def _confirm(client, customer):
    token = ServiceUserImport.objects.latest("id").token
    return client.post(_url("user_import_confirm", customer, token))


def test_the_bulk_page_works_for_read_only_staff_without_the_upload_form(client_for, msp_viewer, portal_customer):
    page = client_for(msp_viewer).get(_url("user_bulk", portal_customer)).content.decode()
    assert 'data-testid="export-csv"' in page
    assert 'data-testid="upload-csv"' not in page
    response = _upload(client_for(msp_viewer), portal_customer, GOOD)
    assert response.status_code == 403
    assert not ServiceUserImport.objects.exists()


def test_a_good_file_is_previewed_then_imported(client_for, customer_admin, portal_customer):
    client = client_for(customer_admin)
    preview = _preview(client, portal_customer, _upload(client, portal_customer, GOOD))
    body = preview.content.decode()
    assert "行数: 2" in body
    assert "エラーのある行: 0" in body
    assert 'data-testid="confirm-import"' in body
    assert not ServiceUser.objects.exists()
    response = _confirm(client, portal_customer)
    assert response.status_code == 302
    assert response["Location"] == _url("users", portal_customer)
    users = {u.user_name: u for u in ServiceUser.objects.filter(customer=portal_customer)}
    assert set(users) == {"taro", "hanako"}
    assert users["taro"].department == "営業部"
    event = AuditEvent.objects.get(action="service_user.import")
    assert event.after == {"file_name": "users.csv", "added": 2}
    # A second confirmation (double submit) imports nothing more.
    again = _confirm(client, portal_customer)
    assert again.status_code == 302
    assert ServiceUser.objects.count() == 2


def test_a_file_with_bad_rows_shows_every_error_and_imports_nothing(client_for, customer_admin, portal_customer):
    ServiceUserFactory(customer=portal_customer, user_name="existing")
    portal_customer.contracted_users = 50
    portal_customer.save()
    content = HEADER + (
        "ok,ok@customer.example,良い行,\n"
        "bad-mail,not-an-email,メール不正,\n"
        "dup,dup@customer.example,重複1,\n"
        "DUP,dup2@customer.example,重複2,\n"
        "existing,e@customer.example,既存,\n"
        f"{'x' * 101},long@customer.example,長すぎ,\n"
        "formula,f@customer.example,=1+2,\n"
        "html,h@customer.example,<script>alert(1)</script>,\n"
        ",empty@customer.example,,\n"
    )
    client = client_for(customer_admin)
    preview = _preview(client, portal_customer, _upload(client, portal_customer, content))
    body = preview.content.decode()
    assert "エラーのある行: 7" in body
    assert 'data-testid="import-refused"' in body
    assert 'data-testid="confirm-import"' not in body
    assert "有効なメールアドレスを入力してください" in body
    assert "ユーザ名「dup」はファイルの4行目にもあります" in body
    assert "ユーザ名「existing」は既に登録されています" in body
    assert "100 文字以下" in body or "100文字" in body
    assert "数式" in body
    assert "&lt; や &gt;" in body
    assert "&lt;script&gt;" in body and "<script>alert(1)</script>" not in body
    rows = ServiceUserImport.objects.get().rows["rows"]
    assert [row["line"] for row in rows if row["errors"]] == [3, 5, 6, 7, 8, 9, 10]
    # Confirming anyway (a forged POST) changes nothing.
    response = _confirm(client, portal_customer)
    assert response.status_code == 302
    assert ServiceUser.objects.count() == 1
    assert not AuditEvent.objects.filter(action="service_user.import").exists()


def test_a_file_that_would_exceed_the_contracted_users_is_refused_whole(client_for, customer_admin, portal_customer):
    ServiceUserFactory(customer=portal_customer, user_name="existing")
    content = HEADER + "".join(f"user{i},u{i}@customer.example,利用者{i},\n" for i in range(5))
    client = client_for(customer_admin)
    preview = _preview(client, portal_customer, _upload(client, portal_customer, content))
    body = preview.content.decode()
    assert "登録すると有効ユーザ数が6人となり、契約ユーザ数5人を超えるため、登録できません" in body
    assert 'data-testid="confirm-import"' not in body
    response = _confirm(client, portal_customer)
    messages = [str(m) for m in response.wsgi_request._messages]
    assert any("契約ユーザ数5人を超えます" in m for m in messages)
    assert ServiceUser.objects.count() == 1


def test_users_added_after_the_preview_are_counted_at_confirmation(client_for, customer_admin, portal_customer):
    client = client_for(customer_admin)
    _upload(client, portal_customer, GOOD)
    ServiceUserFactory(customer=portal_customer, user_name="taro")
    _confirm(client, portal_customer)
    assert list(ServiceUser.objects.values_list("user_name", flat=True)) == ["taro"]


@pytest.mark.parametrize(
    "encoded",
    [
        ("ユーザ名,Eメール,表示名,部署\r\nkana,kana@customer.example,カナ 髙橋,総務部\r\n").encode("cp932"),
        b"\xef\xbb\xbf" + ("ユーザ名,Eメール,表示名,部署\r\nkana,kana@customer.example,カナ 髙橋,総務部\r\n").encode(),
        ("user_name,email,display_name\nkana,kana@customer.example,カナ 髙橋\n").encode(),
    ],
    ids=["cp932", "utf8-bom", "utf8"],
)
def test_cp932_and_utf8_files_with_or_without_bom_are_read_correctly(
    client_for, customer_admin, portal_customer, encoded
):
    client = client_for(customer_admin)
    _preview(client, portal_customer, _upload(client, portal_customer, encoded))
    _confirm(client, portal_customer)
    user = ServiceUser.objects.get()
    assert (user.user_name, user.display_name) == ("kana", "カナ 髙橋")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "空です"),
        (b"\xff\xfe\x00\x00garbage\x81", "UTF-8またはShift_JIS"),
        (b"name,mail\nfoo,bar\n", "見出し行には列"),
        (HEADER.encode(), "ユーザの行がありません"),
        (b"user_name,user_name,email,display_name\na,a,a@x.example,A\n", "2回あります"),
    ],
    ids=["empty", "binary", "no-header", "no-rows", "duplicate-column"],
)
def test_an_unusable_file_is_refused_with_a_message(client_for, customer_admin, portal_customer, content, message):
    response = _upload(client_for(customer_admin), portal_customer, content)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ServiceUserImport.objects.exists()


def test_unknown_columns_are_ignored_and_named_in_the_preview(client_for, customer_admin, portal_customer):
    client = client_for(customer_admin)
    content = "ユーザ名,メールアドレス,表示名,部署,状態\ntaro,taro@customer.example,太郎,,有効\n"
    body = _preview(client, portal_customer, _upload(client, portal_customer, content)).content.decode()
    assert "無視しました" in body and "状態" in body
    assert 'data-testid="confirm-import"' in body


def test_an_import_token_of_another_user_or_customer_is_404(client_for, customer_admin, msp_admin, portal_customer):
    client = client_for(customer_admin)
    _upload(client, portal_customer, GOOD)
    token = ServiceUserImport.objects.get().token
    staff = client_for(msp_admin)
    assert staff.get(_url("user_import_preview", portal_customer, token)).status_code == 404
    assert staff.post(_url("user_import_confirm", portal_customer, token)).status_code == 404
    assert client.get(_url("user_import_confirm", portal_customer, token)).status_code == 405
    assert not ServiceUser.objects.exists()


@pytest.mark.slow
def test_a_ten_thousand_row_file_is_imported(client_for, customer_admin, portal_customer):
    portal_customer.contracted_users = 10_000
    portal_customer.save()
    content = HEADER + "".join(
        f"user{i:05d},user{i:05d}@customer.example,利用者 {i},部署{i % 20}\n" for i in range(10_000)
    )
    client = client_for(customer_admin)
    response = _upload(client, portal_customer, content)
    assert response.status_code == 302
    assert ServiceUserImport.objects.get().rows["rows"][-1]["errors"] == []
    response = _confirm(client, portal_customer)
    assert response.status_code == 302
    assert ServiceUser.objects.filter(customer=portal_customer, is_active=True).count() == 10_000


@pytest.mark.parametrize(
    ("content", "line"),
    [
        (HEADER + "taro,taro@customer.example,太郎,\nha\x00nako,hanako@customer.example,花子,\n", 3),
        (HEADER + "taro,taro@customer.example,太\x01郎,\n", 2),
        (HEADER + "taro,taro@customer.example,太郎,営業\x7f部\n", 2),
        (HEADER + "taro,taro@customer.example,太郎,営業\x85部\n", 2),
        (HEADER + "taro,taro@customer.example,太郎,営業\t部\n", 2),
        (HEADER + 'taro,taro@customer.example,"太郎\r\n山田",\n', 3),
        ("user_name,email,display_name,メ\x00モ\ntaro,taro@customer.example,太郎,\n", 1),
        ("user_name,email,display_name,メモ\ntaro,taro@customer.example,太郎,\x00\n", 2),
    ],
    ids=["nul", "c0", "del", "c1", "tab-in-value", "newline-in-value", "nul-in-header", "nul-in-ignored-column"],
)
def test_control_characters_are_refused_with_the_line_that_holds_them(
    client_for, customer_admin, portal_customer, content, line
):
    response = _upload(client_for(customer_admin), portal_customer, content)
    assert response.status_code == 200
    assert f"{line}行目に制御文字" in response.content.decode()
    assert not ServiceUserImport.objects.exists()
    assert not ServiceUser.objects.exists()
