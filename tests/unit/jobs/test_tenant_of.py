"""tenant_of: a job's default group is its payload's tenant, whatever shape the model has."""

from __future__ import annotations

from corral.definition import tenant_of
from pydantic import BaseModel, ConfigDict


class Tenanted(BaseModel):
    sub_account_id: str | None = None


class Untenanted(BaseModel):
    n: int = 0


class Extras(BaseModel):
    model_config = ConfigDict(extra="allow")


class Derived(BaseModel):
    owner: str = "acme"

    @property
    def sub_account_id(self) -> str:
        return self.owner


def test_a_tenant_field_is_the_group() -> None:
    assert tenant_of(Tenanted(sub_account_id="t1")) == "t1"
    assert tenant_of(Tenanted()) is None


def test_a_model_without_a_tenant_has_no_group() -> None:
    assert tenant_of(Untenanted()) is None


def test_a_tenant_from_extras_or_a_property_is_the_group() -> None:
    assert tenant_of(Extras.model_validate({"sub_account_id": "t2"})) == "t2"
    assert tenant_of(Extras()) is None
    assert tenant_of(Derived()) == "acme"


def test_a_plain_object_is_asked_directly() -> None:
    class Plain:
        sub_account_id = "t3"

    assert tenant_of(Plain()) == "t3"
    assert tenant_of(object()) is None
