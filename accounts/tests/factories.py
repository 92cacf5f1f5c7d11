import factory

from accounts.models import Membership, Organization, User
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


def passkey_for(user, name: str = "テスト用パスキー"):
    """A confirmed passkey of the user, as django-otp-webauthn saves one after its ceremony (the
    key material is random: only the browser tests sign with a real one)."""
    import os

    from django_otp_webauthn.models import WebAuthnCredential

    return WebAuthnCredential.objects.create(
        user=user, name=name, credential_id=os.urandom(32), public_key=os.urandom(77), confirmed=True
    )
