import factory

from accounts.tests.factories import UserFactory
from customer_portal.models import CustomerAdmin, ServiceUser
from customers.tests.factories import CustomerAccountFactory


class CustomerAdminFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerAdmin

    user = factory.SubFactory(UserFactory, membership=None)
    customer = factory.SubFactory(CustomerAccountFactory)


class ServiceUserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceUser

    customer = factory.SubFactory(CustomerAccountFactory)
    user_name = factory.Sequence(lambda n: f"user{n:05d}")
    email = factory.Sequence(lambda n: f"user{n:05d}@customer.example")
    display_name = factory.Sequence(lambda n: f"利用者{n}")
