"""``make preflight``: check an AWS account before the first ``sam deploy``.

Read-only calls (boto3, the usual credential chain) that answer what a fresh account gets
wrong, each a ``Finding`` that says what to do:

- Lambda's concurrency quota against what the stack reserves (Lambda keeps 100 unreserved);
- the VPC's DNS support and DNS hostnames, which interface endpoints' private DNS needs;
- the subnets' route tables, and whether they have a NAT gateway (``RouteTableIds``,
  ``NatEgress``, and the webhook queue's internet egress);
- the email sender's SES identity (the address or its domain, verified);
- the VPC endpoint services in the region and the subnets' zones.

Without ``--vpc-id`` it checks the default VPC and its subnets, as a new account would deploy.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from typing import Any, Literal

from infra.deploy.template_model import load_template

MIN_UNRESERVED = 100
"""Lambda refuses a reservation that leaves less than this unreserved in the account."""
INTERFACE_SERVICES = ("sqs", "lambda", "sns", "events")
GATEWAY_SERVICES = ("dynamodb", "s3")
SES_SERVICE = "email"

Level = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class Finding:
    """One check's verdict, and the stack parameters it suggests."""

    check: str
    level: Level
    detail: str
    parameters: dict[str, str] = field(default_factory=dict)


def stack_reservation(template: dict[str, Any] | None = None) -> int:
    """Concurrency the pollers reserve with ``ReservePollerConcurrency=true``."""
    resources = (template or load_template())["Resources"]
    total = 0
    for resource in resources.values():
        reserved = resource.get("Properties", {}).get("ReservedConcurrentExecutions")
        if isinstance(reserved, dict) and "Fn::If" in reserved:
            total += int(reserved["Fn::If"][1])
    return total


def check_concurrency(lambda_client: Any, reserve: bool, reservation: int) -> Finding:
    """The account's concurrency quota against the stack's reservation."""
    try:
        limit = lambda_client.get_account_settings()["AccountLimit"]
    except lambda_client.exceptions.ClientError as error:
        # Without lambda:GetAccountSettings the quota stays unknown: say so, do not guess.
        return Finding("concurrency", "warn", f"could not read the quota: {error}")
    quota, unreserved = limit["ConcurrentExecutions"], limit["UnreservedConcurrentExecutions"]
    needed = reservation + MIN_UNRESERVED
    facts = f"quota {quota}, unreserved {unreserved}; reserving needs {needed} unreserved"
    if not reserve:
        return Finding(
            "concurrency", "ok", f"{facts}; ReservePollerConcurrency=false reserves none"
        )
    if unreserved >= needed:
        return Finding("concurrency", "ok", facts)
    return Finding(
        "concurrency",
        "fail",
        f"{facts}: deploy with ReservePollerConcurrency=false, or ask for a higher quota "
        "(Service Quotas, Lambda, Concurrent executions)",
        {"ReservePollerConcurrency": "false"},
    )


def check_vpc_dns(ec2: Any, vpc_id: str) -> Finding:
    """Interface endpoints with private DNS need both DNS attributes of the VPC on."""
    attributes = {
        "enableDnsSupport": ("EnableDnsSupport", "--enable-dns-support"),
        "enableDnsHostnames": ("EnableDnsHostnames", "--enable-dns-hostnames"),
    }
    off = [
        option
        for attribute, (key, option) in attributes.items()
        if not ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute=attribute)[key]["Value"]
    ]
    if not off:
        return Finding("vpc-dns", "ok", f"{vpc_id}: DNS support and DNS hostnames are on")
    fixes = "; ".join(f"aws ec2 modify-vpc-attribute --vpc-id {vpc_id} {o}" for o in off)
    return Finding(
        "vpc-dns",
        "fail",
        f"{vpc_id}: {', '.join(off)} off, and interface endpoints need both: {fixes} "
        "(or deploy with CreateInterfaceEndpoints=false behind a NAT gateway)",
    )


def route_tables(ec2: Any, vpc_id: str, subnet_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Each subnet's route table: its own association, else the VPC's main table."""
    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
    by_subnet, main = {}, None
    for table in tables["RouteTables"]:
        for association in table.get("Associations", []):
            if association.get("Main"):
                main = table
            elif association.get("SubnetId"):
                by_subnet[association["SubnetId"]] = table
    found = {s: by_subnet.get(s, main) for s in subnet_ids}
    return {s: t for s, t in found.items() if t is not None}


def check_egress(ec2: Any, vpc_id: str, subnet_ids: list[str]) -> list[Finding]:
    """Route tables for the gateway endpoints, and whether the subnets have a NAT."""
    tables = route_tables(ec2, vpc_id, subnet_ids)
    missing = sorted(set(subnet_ids) - set(tables))
    if missing:
        return [Finding("route-tables", "fail", f"no route table found for {missing}")]
    ids = ",".join(sorted({t["RouteTableId"] for t in tables.values()}))
    nat = all(
        any(r.get("NatGatewayId") or r.get("InstanceId") for r in t.get("Routes", []))
        for t in tables.values()
    )
    found = [Finding("route-tables", "ok", f"subnets route through {ids}", {"RouteTableIds": ids})]
    if nat:
        found.append(Finding("nat", "ok", "every subnet has a NAT route", {"NatEgress": "true"}))
    else:
        found.append(
            Finding(
                "nat",
                "warn",
                "no NAT gateway: DynamoDB and S3 go through the gateway endpoints (RouteTableIds), "
                "the other services through interface endpoints; the webhook queue cannot reach "
                "the internet",
                {"NatEgress": "false", "CreateInterfaceEndpoints": "true"},
            )
        )
    return found


def check_sender(ses: Any, sender: str) -> Finding:
    """The email queue's From address, or its domain, is a verified SES identity."""
    if not sender:
        return Finding("ses-sender", "warn", "no --sender given: the email queue needs EmailSender")
    domain = sender.rpartition("@")[2]
    found = ses.get_identity_verification_attributes(Identities=[sender, domain])
    statuses = {k: v["VerificationStatus"] for k, v in found["VerificationAttributes"].items()}
    if "Success" in statuses.values():
        return Finding(
            "ses-sender", "ok", f"{sender} may send ({statuses})", {"EmailSender": sender}
        )
    return Finding(
        "ses-sender",
        "fail",
        f"neither {sender} nor {domain} is a verified SES identity in this region ({statuses})",
    )


def _service(ec2: Any, name: str) -> dict[str, Any] | None:
    try:
        details = ec2.describe_vpc_endpoint_services(ServiceNames=[name])["ServiceDetails"]
    except ec2.exceptions.ClientError as error:
        if error.response["Error"]["Code"] == "InvalidServiceName":
            return None
        raise
    return details[0] if details else None


def check_endpoint_services(
    ec2: Any, region: str, zones: set[str], ses_endpoint: bool
) -> list[Finding]:
    """The endpoint services the stack creates exist in the region and the subnets' zones."""
    found = []
    wanted = [*GATEWAY_SERVICES, *INTERFACE_SERVICES, SES_SERVICE]
    for short in wanted:
        name = f"com.amazonaws.{region}.{short}"
        service = _service(ec2, name)
        if short == SES_SERVICE:
            level: Level = "fail" if ses_endpoint else "warn"
            if service is None:
                found.append(
                    Finding(
                        "endpoint-services",
                        level,
                        f"{name} is not offered here: deploy with CreateSesEndpoint=false and "
                        "give the email queue a NAT gateway",
                        {"CreateSesEndpoint": "false"},
                    )
                )
                continue
        elif service is None:
            found.append(Finding("endpoint-services", "fail", f"{name} is not offered here"))
            continue
        uncovered = zones - set(service.get("AvailabilityZones", zones))
        if uncovered and short not in GATEWAY_SERVICES:
            found.append(
                Finding(
                    "endpoint-services", "fail", f"{name} is not offered in {sorted(uncovered)}"
                )
            )
    if not found:
        found.append(Finding("endpoint-services", "ok", "every endpoint service is offered"))
    return found


def default_network(ec2: Any) -> tuple[str, list[str]]:
    """The default VPC and one subnet in each of its first two zones."""
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
    if not vpcs:
        raise SystemExit("no default VPC in this region: give --vpc-id and --subnet-ids")
    vpc_id = vpcs[0]["VpcId"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    by_zone = {
        s["AvailabilityZone"]: s["SubnetId"]
        for s in sorted(subnets, key=lambda s: s["SubnetId"], reverse=True)
    }
    return vpc_id, [by_zone[zone] for zone in sorted(by_zone)[:2]]


def preflight(session: Any, args: argparse.Namespace) -> list[Finding]:
    """Every check, for a boto3 session and the parsed command line."""
    ec2 = session.client("ec2")
    if args.vpc_id:
        vpc_id, subnet_ids = args.vpc_id, args.subnet_ids.split(",")
    else:
        vpc_id, subnet_ids = default_network(ec2)
    subnets = ec2.describe_subnets(SubnetIds=subnet_ids)["Subnets"]
    zones = {s["AvailabilityZone"] for s in subnets}
    found = [
        Finding(
            "network",
            "ok",
            f"VPC {vpc_id}, subnets in {sorted(zones)}",
            {"VpcId": vpc_id, "SubnetIds": ",".join(subnet_ids)},
        )
    ]
    if len(zones) < 2:
        found.append(Finding("network", "fail", "the subnets need two availability zones"))
    found.append(
        check_concurrency(session.client("lambda"), args.reserve_concurrency, stack_reservation())
    )
    found.append(check_vpc_dns(ec2, vpc_id))
    found += check_egress(ec2, vpc_id, subnet_ids)
    found.append(check_sender(session.client("ses"), args.sender))
    found += check_endpoint_services(ec2, session.region_name, zones, args.ses_endpoint)
    return found


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vpc-id", default="", help="default: the default VPC")
    parser.add_argument("--subnet-ids", default="", help="comma-separated, with --vpc-id")
    parser.add_argument("--sender", default="", help="the email queue's From address")
    parser.add_argument(
        "--reserve-concurrency", action="store_true", help="check for ReservePollerConcurrency=true"
    )
    parser.add_argument(
        "--ses-endpoint", action="store_true", help="check for CreateSesEndpoint=true"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, session: Any = None) -> int:
    """Print every finding and the parameters they suggest; fail if any check failed."""
    import boto3

    findings = preflight(session or boto3.session.Session(), parse(argv))
    suggested: dict[str, str] = {}
    for finding in findings:
        print(f"[{finding.level:4}] {finding.check}: {finding.detail}")
        suggested.update(finding.parameters)
    print("parameter_overrides: " + " ".join(f"{k}={v}" for k, v in suggested.items()))
    return 1 if any(f.level == "fail" for f in findings) else 0


if __name__ == "__main__":
    sys.exit(main())
