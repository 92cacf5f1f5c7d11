"""The audit trail is append-only in the application and, on PostgreSQL, in the database."""

import pytest
from django.db import DatabaseError, connection, transaction

from audit.models import AuditEvent
from audit.services import audit_record


def test_the_application_refuses_to_change_or_delete_events(msp_admin):
    event = audit_record(actor=msp_admin, action="some.event")
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        AuditEvent.objects.filter(pk=event.pk).update(action="changed")
    with pytest.raises(TypeError):
        AuditEvent.objects.filter(pk=event.pk).delete()


@pytest.mark.postgres
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditevent SET action = 'tampered' WHERE id = %s",
        "DELETE FROM audit_auditevent WHERE id = %s",
    ],
)
def test_the_database_refuses_raw_updates_and_deletes(msp_admin, statement):
    event = audit_record(actor=msp_admin, action="some.event")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, [event.pk])
    with connection.cursor() as cursor:
        cursor.execute("SELECT action FROM audit_auditevent WHERE id = %s", [event.pk])
        assert cursor.fetchone() == ("some.event",)


@pytest.mark.postgres
def test_the_database_still_accepts_new_events(msp_admin):
    audit_record(actor=msp_admin, action="one.event")
    audit_record(actor=msp_admin, action="two.event")
    assert AuditEvent.objects.count() == 2
