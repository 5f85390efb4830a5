"""factory_boy factories. Contacts and accounts made here bypass services on purpose only for
set-up; tests of behaviour call the services."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from accounts import roles
from accounts.models import Account, Contact, JourneyStage, JourneyTransition, Team, Touchpoint
from pipeline.models import (
    Campaign,
    DailyReport,
    Deal,
    DealStageChange,
    Product,
)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@frontoffice.test")
    is_staff = True
    password = factory.django.Password("pass-word-123")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(Group.objects.get(name=extracted))


def user_with_role(role: str, **kwargs):
    return UserFactory(role=role, **kwargs)


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")
    kind = Team.Kind.SALES


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Company {n}")
    domain = factory.Sequence(lambda n: f"company{n}.example.com")
    industry = "Manufacturing"
    region = "Kanto"


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact
        skip_postgeneration_save = True

    name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"person{n}@company.example.com")
    stage = JourneyStage.AWARENESS

    @factory.post_generation
    def history(self, create, extracted, **kwargs):
        # The first journey row, as contact_create would write it.
        if create:
            JourneyTransition.objects.create(
                contact=self, from_stage="", to_stage=self.stage, created_at=self.stage_changed_at
            )


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"Campaign {n}")
    kind = Campaign.Kind.EXHIBITION


class TouchpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Touchpoint

    kind = "web_visit"
    channel = "web"
    contact = factory.SubFactory(ContactFactory)
    account = factory.LazyAttribute(lambda t: t.contact.account if t.contact else None)


class DealFactory(factory.django.DjangoModelFactory):
    """A deal at `stage` with its first history row (as deal_create writes it); for set-up.
    Tests of moves call pipeline.deals.deal_move."""

    class Meta:
        model = Deal
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Deal {n}")
    owner = factory.SubFactory(UserFactory)
    account = factory.SubFactory(AccountFactory)
    contact = factory.LazyAttribute(
        lambda deal: ContactFactory(account=deal.account) if deal.account else None
    )
    amount = 1000000
    currency = "JPY"
    stage = "list"
    probability = 10

    @factory.post_generation
    def history(self, create, extracted, **kwargs):
        if create:
            DealStageChange.objects.create(
                deal=self,
                from_stage="",
                to_stage=self.stage,
                amount=self.amount,
                created_at=self.stage_changed_at,
            )


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"P-{n:04d}")
    name = factory.Sequence(lambda n: f"Product {n}")
    unit_price = 10000
    currency = "JPY"


class DailyReportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DailyReport

    rep = factory.SubFactory(UserFactory)
    day = factory.Faker("date_this_year")


ROLES = roles.ROLES
