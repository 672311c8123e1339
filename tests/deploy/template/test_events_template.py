"""What the template declares for events, webhooks and stats: the tenant table as the code
defines it, a bus (or an existing one), both named to every function, PutEvents granted."""

from __future__ import annotations

from typing import Any

import pytest
from corral.stats import table_definition
from corral.stats.table import TTL_ATTRIBUTE

from infra.deploy.template_model import functions, load_template


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def test_the_tenant_table_matches_the_code(template: dict[str, Any]) -> None:
    declared = template["Resources"]["TenantTable"]["Properties"]
    wanted = table_definition("corral-tenants")
    for key in ("AttributeDefinitions", "KeySchema", "BillingMode"):
        assert declared[key] == wanted[key], key
    assert declared["TimeToLiveSpecification"] == {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}
    assert template["Resources"]["TenantTable"]["DeletionPolicy"] == "Retain"


def test_the_bus_is_created_unless_one_is_given(template: dict[str, Any]) -> None:
    assert template["Resources"]["EventBus"]["Condition"] == "CreateEventBus"
    assert template["Parameters"]["ExistingEventBus"]["Default"] == ""


def test_every_function_with_the_engine_knows_the_bus_and_the_table(
    template: dict[str, Any],
) -> None:
    for function in functions(template).values():
        if "CORRAL_TABLE" in function.environment:
            assert {"CORRAL_EVENT_BUS", "CORRAL_TENANT_TABLE"} <= set(function.environment)


def test_pollers_and_the_api_may_publish(template: dict[str, Any]) -> None:
    for function in functions(template).values():
        if function.handler in ("api.app.handler", "poller.app.handler"):
            assert "events:PutEvents" in function.granted_actions(template), function.logical_id
