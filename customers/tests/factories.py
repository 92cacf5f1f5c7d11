import factory

from accounts.tests.factories import OrganizationFactory
from customers.models import CustomerAccount


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
        from customers.search import customer_search_text

        obj.search_text = customer_search_text(obj)
        if create:
            obj.save(update_fields=["search_text"])
