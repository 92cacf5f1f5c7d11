"""Audit events name their object by model label; a label from before a model moved app (or
after) still resolves to the same model."""

import csv
import io

import pytest
from django.urls import reverse

from accounts.models import User
from audit.models import AuditEvent
from audit.object_types import object_model, object_type_label, object_type_labels
from audit.services import audit_record
from customer_portal.tests.factories import CustomerAdminFactory
from customers.models import CustomerAccount
from customers.tests.factories import CustomerAccountFactory
from points.models import Transfer


@pytest.mark.parametrize("label", ["accounts.CustomerAccount", "customers.CustomerAccount"])
def test_the_customer_account_resolves_under_its_old_and_new_label(label):
    assert object_model(label) is CustomerAccount
    assert object_type_label(label) == CustomerAccount._meta.label


def test_labels_of_models_that_never_moved_resolve_as_they_are():
    assert object_model("accounts.User") is User
    assert object_model("points.Transfer") is Transfer


@pytest.mark.parametrize("label", ["nowhere.Thing", "accounts.Nothing", "garbage", ""])
def test_a_label_of_no_installed_model_resolves_to_nothing_and_reads_as_stored(label):
    assert object_model(label) is None
    assert object_type_label(label) == label


def test_every_label_of_a_model_is_known_for_queries():
    assert set(object_type_labels(CustomerAccount)) == {"accounts.CustomerAccount", "customers.CustomerAccount"}
    assert object_type_labels(User) == ("accounts.User",)


@pytest.mark.django_db
def test_events_written_under_either_label_read_the_same_in_the_csv_and_are_found_together(client_for, msp_admin):
    customer = CustomerAccountFactory(organization=msp_admin.organization)
    for label in ("accounts.CustomerAccount", "customers.CustomerAccount", "gone.Model"):
        AuditEvent.objects.create(
            organization=msp_admin.organization, action="customer.update", object_type=label, object_id=str(customer.pk)
        )
    response = client_for(msp_admin).get(reverse("audit_event_export"))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    column = rows[0].index("対象の種類")
    object_types = sorted(row[column] for row in rows[1:])
    assert object_types == sorted([CustomerAccount._meta.label] * 2 + ["gone.Model"])
    found = AuditEvent.objects.filter(object_type__in=object_type_labels(CustomerAccount), object_id=str(customer.pk))
    assert found.count() == 2


@pytest.mark.django_db
def test_an_event_about_a_customer_or_one_of_its_objects_is_filed_under_that_customer(msp_admin, msp_org):
    customer = CustomerAccountFactory(organization=msp_org)
    assert audit_record(actor=msp_admin, action="customer.update", obj=customer).customer == customer
    admin = CustomerAdminFactory(customer=customer)
    assert audit_record(actor=msp_admin, action="customer_admin.add", obj=admin).customer == customer
    assert audit_record(actor=msp_admin, action="staff.update", obj=msp_admin).customer is None
