"""The contracted-users limit holds under concurrent adds (row lock on the customer account)."""

import threading

import pytest
from django.db import connection

from customer_portal.models import ServiceUser
from customer_portal.services import service_user_add
from msp_portal.errors import DomainError

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_adds_never_exceed_the_contracted_users(customer_admin, portal_customer):
    portal_customer.contracted_users = 1
    portal_customer.save()
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def add(index: int) -> None:
        try:
            barrier.wait()
            service_user_add(
                actor=customer_admin,
                customer=portal_customer,
                user_name=f"racer{index}",
                email=f"racer{index}@x.example",
                display_name="競争",
            )
            outcomes.append("added")
        except DomainError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=add, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["added", "refused", "refused", "refused"]
    assert ServiceUser.objects.filter(customer=portal_customer, is_active=True).count() == 1
