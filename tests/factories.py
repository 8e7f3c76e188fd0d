"""factory_boy factories for the portal's models."""

from __future__ import annotations

import factory
from allauth.account.models import EmailAddress
from django_scopes import scopes_disabled

from portal.models import Membership, Organisation, User
from portal.roles import Role

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    full_name = factory.Faker("name", locale="en_GB")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def verified(self, create: bool, extracted: bool | None, **kwargs: object) -> None:
        self.save()
        if create and extracted is not False:
            EmailAddress.objects.create(user=self, email=self.email, verified=True, primary=True)


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Test Manufacturing {n} Ltd")
    slug = factory.Sequence(lambda n: f"test-manufacturing-{n}-x7k2q9")
    sector = "machinery"
    size_band = "medium"
    country = "GB"


def add_member(organisation: Organisation, user: User, role: str = Role.MEMBER, **extra: object) -> Membership:
    with scopes_disabled():
        return Membership.objects.create(organisation=organisation, user=user, role=role, **extra)
