import factory

from accounts.models import CustomerAccount, Membership, Organization, User
from msp_portal.permissions import OrganizationKind

PASSWORD = "correct-horse-battery-staple"


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"組織{n}")
    kind = OrganizationKind.MSP

    @factory.post_generation
    def pool(organization, create, extracted, **kwargs):
        # As accounts.services.organization_create does: an MSP's pool opens with it.
        if create:
            from points.ledger import open_pool

            open_pool(organization)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@test.example")
    name = factory.Sequence(lambda n: f"ユーザー{n}")
    password = factory.django.Password(PASSWORD)
    membership = factory.RelatedFactory("accounts.tests.factories.MembershipFactory", factory_related_name="user")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory, membership=None)
    organization = factory.SubFactory(OrganizationFactory)
    role = "admin"


class CustomerAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerAccount
        skip_postgeneration_save = True

    organization = factory.SubFactory(OrganizationFactory)
    account_code = factory.Sequence(lambda n: f"customer-{n:05d}")
    company_name = factory.Sequence(lambda n: f"株式会社テスト{n}")
    company_name_kana = factory.Sequence(lambda n: f"カブシキガイシャテスト{n}")
    email_domain = factory.Sequence(lambda n: f"test{n}.example.jp")
    contracted_users = 20
    status = "active"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        # Every customer has a wallet (the services open it with the account). A test may give
        # the wallet's balance and estimate directly, as the list shows them.
        from points.ledger import new_wallet

        balance = kwargs.pop("points_balance", 0)
        estimate = kwargs.pop("estimated_balance", balance)
        customer = super()._create(model_class, *args, **kwargs)
        new_wallet(customer, balance=balance, estimate=estimate).save()
        return customer

    @factory.post_generation
    def search(obj, create, extracted, **kwargs):
        # Keep `search_text` as the services keep it, so list searches find factory accounts.
        from accounts.search import customer_search_text

        obj.search_text = customer_search_text(obj)
        if create:
            obj.save(update_fields=["search_text"])
