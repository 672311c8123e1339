"""``make preflight`` against moto: each check on an account that passes it and one that fails."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra.deploy.preflight import (
    MIN_UNRESERVED,
    check_concurrency,
    check_egress,
    check_endpoint_services,
    check_sender,
    check_vpc_dns,
    default_network,
    main,
    stack_reservation,
)
from infra.deploy.queues import load_registry, reserved_concurrency

REGION = "us-east-1"


@pytest.fixture
def session(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield boto3.session.Session(region_name=REGION)


def test_the_reservation_is_what_the_queues_reserve() -> None:
    assert stack_reservation() == sum(reserved_concurrency(d) for d in load_registry())


class AccountSettings:
    """Lambda's GetAccountSettings as AWS answers it (moto does not implement it)."""

    class exceptions:  # noqa: N801 - the shape boto3 clients have
        ClientError = Exception

    def __init__(self, quota: int, unreserved: int) -> None:
        self.limit = {"ConcurrentExecutions": quota, "UnreservedConcurrentExecutions": unreserved}

    def get_account_settings(self) -> dict[str, Any]:
        return {"AccountLimit": self.limit}


def test_a_new_account_cannot_reserve_concurrency() -> None:
    finding = check_concurrency(AccountSettings(10, 10), reserve=True, reservation=39)
    assert finding.level == "fail"
    assert finding.parameters == {"ReservePollerConcurrency": "false"}
    assert check_concurrency(AccountSettings(10, 10), reserve=False, reservation=39).level == "ok"
    enough = 39 + MIN_UNRESERVED
    assert (
        check_concurrency(AccountSettings(1000, enough), reserve=True, reservation=39).level == "ok"
    )


def test_an_unreadable_quota_is_a_warning_not_a_guess(session: Any) -> None:
    finding = check_concurrency(session.client("lambda"), reserve=True, reservation=39)
    assert finding.level == "warn" and "could not read" in finding.detail


def test_the_default_vpc_has_dns_and_a_new_vpc_lacks_hostnames(session: Any) -> None:
    ec2 = session.client("ec2")
    vpc_id, _ = default_network(ec2)
    assert check_vpc_dns(ec2, vpc_id).level == "ok"
    fresh = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    finding = check_vpc_dns(ec2, fresh)
    assert finding.level == "fail" and "--enable-dns-hostnames" in finding.detail


def test_without_a_nat_the_route_tables_are_suggested_and_the_webhook_warned(
    session: Any,
) -> None:
    ec2 = session.client("ec2")
    vpc_id, subnets = default_network(ec2)
    route_tables, nat = check_egress(ec2, vpc_id, subnets)
    main_table = ec2.describe_route_tables(
        Filters=[
            {"Name": "vpc-id", "Values": [vpc_id]},
            {"Name": "association.main", "Values": ["true"]},
        ]
    )["RouteTables"][0]["RouteTableId"]
    assert route_tables.parameters == {"RouteTableIds": main_table}
    assert nat.level == "warn" and "webhook" in nat.detail
    assert nat.parameters["NatEgress"] == "false"


def test_a_nat_route_is_found(session: Any) -> None:
    ec2 = session.client("ec2")
    vpc_id, subnets = default_network(ec2)
    table = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    for subnet in subnets:
        ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)
    eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat_id = ec2.create_nat_gateway(SubnetId=subnets[0], AllocationId=eip)["NatGateway"][
        "NatGatewayId"
    ]
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat_id)
    route_tables, nat = check_egress(ec2, vpc_id, subnets)
    assert route_tables.parameters == {"RouteTableIds": table}
    assert (nat.level, nat.parameters["NatEgress"]) == ("ok", "true")


def test_the_sender_must_be_a_verified_identity(session: Any) -> None:
    ses = session.client("ses")
    assert check_sender(ses, "jobs@example.com").level == "fail"
    ses.verify_domain_identity(Domain="example.com")
    finding = check_sender(ses, "jobs@example.com")
    assert finding.level == "ok" and finding.parameters == {"EmailSender": "jobs@example.com"}
    assert check_sender(ses, "").level == "warn"


def test_endpoint_services_are_looked_up_in_the_region(session: Any) -> None:
    ec2 = session.client("ec2")
    zones = {"us-east-1a", "us-east-1b"}
    found = check_endpoint_services(ec2, REGION, zones, ses_endpoint=False)
    levels = {f.detail.split()[0]: f.level for f in found}
    # moto's copy of the region offers no SES API endpoint (com.amazonaws.REGION.email).
    assert levels == {f"com.amazonaws.{REGION}.email": "warn"}
    strict = check_endpoint_services(ec2, REGION, zones, ses_endpoint=True)
    assert [f.level for f in strict] == ["fail"]
    unknown_zone = check_endpoint_services(ec2, REGION, {"us-east-1z"}, ses_endpoint=False)
    assert any("us-east-1z" in f.detail for f in unknown_zone if f.level == "fail")


def test_the_command_checks_a_default_vpc_account(
    session: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    session.client("ses").verify_email_identity(EmailAddress="jobs@example.com")
    status = main(["--sender", "jobs@example.com"], session=session)
    out = capsys.readouterr().out
    assert status == 0, out
    assert "[warn] nat:" in out and "[ok  ] vpc-dns:" in out
    suggested = out.splitlines()[-1]
    assert "RouteTableIds=rtb-" in suggested and "NatEgress=false" in suggested
    assert "CreateSesEndpoint=false" in suggested
