from __future__ import annotations

import factory

from accounts.models import User
from portfolios.services import portfolio_create

DEFAULT_PASSWORD = "pass-w0rd-123"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    role = "trader"
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

    @factory.post_generation
    def with_portfolio(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            self.save()
            if extracted is not False:
                portfolio_create(owner=self, name=f"{self.email} portfolio")
