"""A deploy rehearsal: the README's ``sam deploy`` against a moto server on loopback.

``make deploy-check`` builds as the README says (``make build``), then runs this module:

1. a moto server on a free 127.0.0.1 port stands in for AWS, with the artefact bucket
   created in it and the default VPC's subnets for the network parameters;
2. ``sam deploy --no-execute-changeset`` runs with the committed ``samconfig.toml``; only the
   bucket is pinned (``--s3-bucket``, in place of ``resolve_s3``, which would need the
   managed stack of SAM) and the parameters ``sam deploy --guided`` would ask for are given;
3. the template it uploaded must name every function's and the layer's code by ``s3://`` URI,
   each object must be in the bucket, and the change set must exist;
4. that uploaded template's ``Rules`` must pass for those parameters (moto does not evaluate
   them), and it is translated as CloudFormation would (language extensions, then the SAM
   transform), so a template only CloudFormation's transforms would reject fails here.

5. from the translated template, the resources moto's CloudFormation can create are created
   as a stack in moto (``infra.deploy.moto_subset``), and each must reach CREATE_COMPLETE.

Where it stops: moto's CloudFormation runs neither transform, so it cannot execute the
change set into resources; it checks an IAM managed policy's document before resolving its
intrinsic functions, so the policies (and the roles and functions that need them) are left
out of step 5; and it does not model the API Gateway v2 API and stage, ElastiCache, the
alarms or the Lambda event invoke configs at all.

Nothing leaves loopback: the SAM CLI runs with telemetry off, its weekly version check marked
done, and every HTTP(S) proxy variable pointing at a loopback trap that records any request
bound elsewhere; the rehearsal fails if the trap saw one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.deploy.build import ROOT, sam_command
from infra.deploy.loopback import ProxyTrap, moto_server
from infra.deploy.moto_subset import supported_subset
from infra.deploy.rules import failed_assertions
from infra.deploy.template_model import parse_yaml

STACK_PARAMETERS = {
    "JwtIssuer": "https://issuer.example.com",
    "JwtAudience": "corral",
}
"""What ``sam deploy --guided`` asks a user for besides the network."""
BUCKET = "corral-deploy-rehearsal"
REGION = "us-east-1"
SAM_PYTHON = ROOT / ".venv-sam" / "bin" / "python"


@dataclass
class Rehearsal:
    """What the rehearsal saw."""

    code_uris: dict[str, str] = field(default_factory=dict)
    missing_objects: list[str] = field(default_factory=list)
    change_sets: list[dict[str, Any]] = field(default_factory=list)
    translated_resources: dict[str, str] = field(default_factory=dict)
    refused_by_rules: list[str] = field(default_factory=list)
    created: dict[str, str] = field(default_factory=dict)
    off_loopback: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def problems(self) -> list[str]:
        """Every way the rehearsal falls short of a deploy CloudFormation would start."""
        found = [
            f"{name}: code not in S3 ({uri})"
            for name, uri in self.code_uris.items()
            if not uri.startswith("s3://")
        ]
        found += [f"uploaded object missing: {uri}" for uri in self.missing_objects]
        if not self.code_uris:
            found.append("the uploaded template names no code")
        if not any(c["Status"] == "CREATE_COMPLETE" for c in self.change_sets):
            found.append(f"no change set was created: {self.change_sets}")
        if not any(t == "AWS::Lambda::Function" for t in self.translated_resources.values()):
            found.append("the translated template has no Lambda function")
        found += [f"request bound off loopback: {line}" for line in self.off_loopback]
        found += [f"CloudFormation's Rules refuse it: {text}" for text in self.refused_by_rules]
        found += [
            f"moto did not create {name}: {status}"
            for name, status in self.created.items()
            if status != "CREATE_COMPLETE"
        ]
        if not self.created:
            found.append("no stack was created from the resources moto supports")
        return found


def aws_environment(endpoint: str) -> dict[str, str]:
    """Dummy credentials and the moto endpoint, for boto3 and the SAM CLI alike."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "rehearsal",
        "AWS_SECRET_ACCESS_KEY": "rehearsal",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }


def quiet_sam_home(directory: Path) -> dict[str, str]:
    """A SAM CLI settings directory with telemetry off and the version check just done."""
    directory.mkdir(parents=True, exist_ok=True)
    settings = {"telemetryEnabled": False, "lastVersionCheck": time.time()}
    (directory / "metadata.json").write_text(json.dumps(settings))
    return {"SAM_CLI_TELEMETRY": "0", "__SAM_CLI_APP_DIR": str(directory)}


def committed_overrides(stage: str = "default") -> dict[str, str]:
    """The ``parameter_overrides`` of ``samconfig.toml``'s deploy section."""
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    overrides: str = config[stage]["deploy"]["parameters"].get("parameter_overrides", "")
    return dict(pair.split("=", 1) for pair in overrides.split())


def emulated_clients(endpoint: str) -> Callable[[str], Any]:
    """A factory of boto3 clients bound to ``endpoint`` (never to AWS itself)."""
    import boto3

    aws = aws_environment(endpoint)
    session = boto3.session.Session(
        aws_access_key_id=aws["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=aws["AWS_SECRET_ACCESS_KEY"],
        region_name=REGION,
    )
    return lambda service: session.client(service, endpoint_url=endpoint)  # type: ignore[call-overload]


def prepare_account(client: Callable[[str], Any]) -> dict[str, str]:
    """The artefact bucket, and network parameters from the emulated default VPC."""
    client("s3").create_bucket(Bucket=BUCKET)
    ec2 = client("ec2")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])
    ids = sorted(s["SubnetId"] for s in subnets["Subnets"])[:2]
    # A default VPC has no NAT: the gateway endpoints go on its (main) route table.
    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])
    route_tables = sorted(t["RouteTableId"] for t in tables["RouteTables"])
    return {
        "VpcId": vpc["VpcId"],
        "SubnetIds": ",".join(ids),
        "RouteTableIds": ",".join(route_tables),
    }


def sam_deploy(sam: str, parameters: dict[str, str], env: dict[str, str]) -> None:
    """``sam deploy`` as the README runs it, creating the change set only."""
    pairs = [f"{name}={value}" for name, value in parameters.items()]
    command = [sam, "deploy", "--no-execute-changeset", "--no-progressbar"]
    command += ["--s3-bucket", BUCKET, "--no-resolve-s3", "--parameter-overrides", *pairs]
    subprocess.run(command, cwd=ROOT, env=env, check=True, stdin=subprocess.DEVNULL)


def uploaded_template(s3: Any) -> str:
    """The newest template ``sam deploy`` put in the bucket (CloudFormation reads it there)."""
    objects = s3.list_objects_v2(Bucket=BUCKET)["Contents"]
    newest = max(
        (o for o in objects if o["Key"].endswith(".template")), key=lambda o: o["LastModified"]
    )
    body: bytes = s3.get_object(Bucket=BUCKET, Key=newest["Key"])["Body"].read()
    return body.decode()


def code_uris(template: dict[str, Any]) -> dict[str, str]:
    """Each function's and layer's code location, ``Globals`` applied."""
    default = template.get("Globals", {}).get("Function", {}).get("CodeUri")
    found = {}
    for name, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function":
            found[name] = str(properties.get("CodeUri", default))
        elif resource["Type"] == "AWS::Serverless::LayerVersion":
            found[name] = str(properties.get("ContentUri"))
    return found


def missing_objects(s3: Any, uris: dict[str, str]) -> list[str]:
    """The ``s3://`` URIs among ``uris`` with no object behind them."""
    missing = []
    for uri in sorted(set(uris.values())):
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        try:
            s3.head_object(Bucket=bucket, Key=key)
        except s3.exceptions.ClientError:
            missing.append(uri)
    return missing


def translated(packaged: str, parameters: dict[str, str]) -> dict[str, Any]:
    """The uploaded template, translated as CloudFormation would."""
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as file:
        file.write(packaged)
        file.flush()
        pairs = [f"{name}={value}" for name, value in parameters.items()]
        run = subprocess.run(
            [str(SAM_PYTHON), "-m", "infra.deploy.translate", "--template", file.name, *pairs],
            cwd=ROOT,
            env={**os.environ, "AWS_DEFAULT_REGION": REGION},
            capture_output=True,
            text=True,
            check=True,
        )
    template: dict[str, Any] = json.loads(run.stdout)
    return template


def create_supported_stack(
    cloudformation: Any, template: dict[str, Any], parameters: dict[str, str]
) -> dict[str, str]:
    """Create what moto can of the translated template; each resource's status."""
    from moto.cloudformation.parsing import get_model_map

    subset = supported_subset(template, set(get_model_map()))
    declared = set(subset.get("Parameters", {}))
    name = f"{committed_stack_name()}-supported"
    cloudformation.create_stack(
        StackName=name,
        TemplateBody=json.dumps(subset),
        Parameters=[
            {"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items() if k in declared
        ],
        Capabilities=["CAPABILITY_IAM"],
    )
    stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    created = cloudformation.list_stack_resources(StackName=name)["StackResourceSummaries"]
    # moto lists one resource of this stack without a logical id; it is named by the others.
    statuses = {
        r["LogicalResourceId"]: r["ResourceStatus"] for r in created if r["LogicalResourceId"]
    }
    return {"(stack)": stack["StackStatus"], **statuses}


def rehearse(work: Path) -> Rehearsal:
    """Deploy the built stack (``.aws-sam/build``) to a moto server; see the module doc."""
    sam = sam_command()
    if sam is None:
        raise FileNotFoundError("the SAM CLI is missing: make sam-cli")
    seen = Rehearsal()
    started = time.monotonic()
    with moto_server(work / "moto.log") as endpoint, ProxyTrap() as trap:
        client = emulated_clients(endpoint)
        parameters = {**committed_overrides(), **prepare_account(client), **STACK_PARAMETERS}
        env = {**os.environ, **aws_environment(endpoint), **quiet_sam_home(work / "sam-home")}
        sam_deploy(sam, parameters, {**env, **trap.environment()})
        s3 = client("s3")
        packaged = uploaded_template(s3)
        template = parse_yaml(packaged)
        seen.code_uris = code_uris(template)
        # moto does not evaluate Rules; CloudFormation would, before creating anything.
        seen.refused_by_rules = failed_assertions(template, parameters)
        seen.missing_objects = missing_objects(s3, seen.code_uris)
        cloudformation = client("cloudformation")
        stack = committed_stack_name()
        seen.change_sets = cloudformation.list_change_sets(StackName=stack)["Summaries"]
        full = translated(packaged, parameters)
        seen.translated_resources = {n: r["Type"] for n, r in full["Resources"].items()}
        seen.created = create_supported_stack(cloudformation, full, parameters)
        seen.off_loopback = list(trap.attempts)
    seen.seconds = time.monotonic() - started
    return seen


def committed_stack_name(stage: str = "default") -> str:
    """``stack_name`` from ``samconfig.toml``."""
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    name: str = config[stage]["global"]["parameters"]["stack_name"]
    return name


def main() -> int:
    """Rehearse, print what was seen, and fail on any problem."""
    with tempfile.TemporaryDirectory(prefix="corral-rehearsal-") as work:
        seen = rehearse(Path(work))
    functions = sum(t == "AWS::Lambda::Function" for t in seen.translated_resources.values())
    print(f"code uploaded: {len(seen.code_uris)} artefacts, {len(seen.missing_objects)} missing")
    print(f"change sets: {[c['ChangeSetName'] for c in seen.change_sets]}")
    print(f"translated: {len(seen.translated_resources)} resources, {functions} functions")
    print(f"created in moto: {len(seen.created) - 1} of them ({sorted(seen.created)})")
    print(f"rehearsal took {seen.seconds:.1f} s (build excluded)")
    for problem in seen.problems():
        print(f"PROBLEM: {problem}", file=sys.stderr)
    return 1 if seen.problems() else 0


if __name__ == "__main__":
    sys.exit(main())
