"""Generate the template's pollers from the queue registry (``functions/queues``).

One block of ``template.yaml``, between ``# BEGIN generated: pollers`` and ``# END generated``,
holds one ``AWS::Serverless::Function`` per queue (and its error alarm), sized and fenced from
the queue's ``QueueDefinition`` and given only the policies its handler's ``grants`` name. So a
queue is still defined in one place.

The pollers are written out rather than looped with ``Fn::ForEach``: ``sam package`` and
``sam deploy`` do not map a ``Fn::ForEach`` resource (``Poller&{Queue}``) to its built
artefact, and fail to upload its code.

Run with ``functions`` on the path: ``PYTHONPATH=functions python -m infra.deploy.queues``
rewrites the template; ``--check`` fails when it is stale, or when a queue's job timeout
cannot fit in its poller's Lambda timeout (its jobs would never start). A queue whose
handler imports an extra (``QueueDefinition.extras``, e.g. Pillow's ``imaging``) gets that
extra's layer; the others have only the engine's.
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
from pathlib import Path

from corral.definition import QueueDefinition, QueueRegistry
from corral.poller.budget import unfit

from infra.deploy.layer_requirements import EXTRA_LAYERS

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
UNLIMITED_RESERVATION = 10
"""Reserved concurrency of a poller whose queue sets no concurrency limit."""

GRANT_POLICIES = {
    "results-multipart": "!Ref ExportsPolicy",
    "file-buckets": "!Ref FileBucketsPolicy",
    "send-email": "!Ref EmailSendPolicy",
    "send-sms": "!Ref SmsPublishPolicy",
    "notification-topic": (
        "!If [HasNotificationTopic, !Ref NotificationTopicPolicy, !Ref AWS::NoValue]"
    ),
}
"""What each grant a queue may name attaches: a managed policy of the template (the topic's
only when a topic is configured)."""

POLLERS_BLOCK = re.compile(
    r"(  # BEGIN generated: pollers[^\n]*\n)(.*?)(  # END generated\n)", re.S
)

POLLER = """\
  {logical_id}:
    Type: AWS::Serverless::Function
    Metadata:
      # functions/Makefile copies the code and ships its python3.13 bytecode.
      BuildMethod: makefile
    Properties:
      FunctionName: !Sub "${{AWS::StackName}}-poller-{name}"
      Description: corral poller for the {name} queue.
      Handler: poller.app.handler
{layers}      MemorySize: {memory}
      Timeout: {timeout}
      ReservedConcurrentExecutions: !If [ReserveConcurrency, {reserved}, !Ref AWS::NoValue]
      # SnapStart=PublishedVersions: ticks, wake-ups and fan-outs invoke the alias.
      SnapStart:
        ApplyOn: !Ref SnapStart
      AutoPublishAlias: !If [UseSnapStart, live, !Ref AWS::NoValue]
      VpcConfig:
        SecurityGroupIds: [!Ref FunctionSecurityGroup]
        SubnetIds: !Ref SubnetIds
      # A missed tick is made up by the next one a minute later: no async retries.
      EventInvokeConfig:
        MaximumRetryAttempts: 0
        MaximumEventAgeInSeconds: 60
      Environment:
        Variables:
          CORRAL_QUEUE: {name}
          # Every queue's settings: the poller loads every queue module (functions/queues).
          CORRAL_EMAIL_SENDER: !Ref EmailSender
          CORRAL_EMAIL_CONFIGURATION_SET: !Ref EmailConfigurationSet
          CORRAL_NOTIFICATION_TOPIC_ARN: !Ref NotificationTopicArn
          CORRAL_EXPORT_URL_TTL_S: "3600"
          CORRAL_FILE_BUCKETS: !Ref FileBuckets
          CORRAL_FILE_KEY_PREFIX: "{{tenant}}/"
      Policies:
        - !Ref CorePolicy
{grants}        # A poller fans out to more invocations of itself when its queue is busy.
        - LambdaInvokePolicy:
            FunctionName: !Sub "${{AWS::StackName}}-poller-"
        # It starts a reconcile at once when Redis lost its queue.
        - LambdaInvokePolicy:
            FunctionName: !Sub "${{AWS::StackName}}-reconciler"
        - !If [CreateRedis, !Ref RedisConnectPolicy, !Ref AWS::NoValue]
        - !If [UseRedisSecret, !Ref RedisSecretPolicy, !Ref AWS::NoValue]
      Events:
        Tick:
          Type: Schedule
          Properties:
            Schedule: rate(1 minute)
  {logical_id}Errors:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmDescription: The {name} poller failed (a job's failure is not one of these).
      Namespace: AWS/Lambda
      MetricName: Errors
      Dimensions:
        - Name: FunctionName
          Value: !Ref {logical_id}
      Statistic: Sum
      Period: 300
      EvaluationPeriods: 1
      Threshold: 0
      ComparisonOperator: GreaterThanThreshold
      TreatMissingData: notBreaching
      AlarmActions: !If [HasAlarmTopic, [!Ref AlarmTopicArn], !Ref AWS::NoValue]
"""


def load_registry(module: str = "queues") -> QueueRegistry:
    """The deployment's registry: ``registry`` in the ``queues`` package."""
    registry = importlib.import_module(module).registry
    if not isinstance(registry, QueueRegistry):
        raise TypeError(f"{module}.registry is not a QueueRegistry")
    return registry


def reserved_concurrency(definition: QueueDefinition) -> int:
    """Lambda's coarse fence: at most one poller invocation per job the queue may run at once."""
    return definition.concurrency or UNLIMITED_RESERVATION


def logical_id(queue: str) -> str:
    """The poller's logical id: ``Poller`` and the queue name's letters and digits (as
    ``Fn::ForEach``'s ``&{Queue}`` made it, so existing stacks keep their functions)."""
    return "Poller" + re.sub(r"[^A-Za-z0-9]", "", queue)


def policies_of(definition: QueueDefinition) -> list[str]:
    """The managed policies a queue's ``grants`` name (an unknown grant is an error)."""
    unknown = set(definition.grants) - set(GRANT_POLICIES)
    if unknown:
        raise ValueError(f"queue {definition.name!r}: unknown grants {sorted(unknown)}")
    return [GRANT_POLICIES[grant] for grant in sorted(definition.grants)]


def layers_of(definition: QueueDefinition) -> str:
    """The ``Layers`` line of a queue whose handler needs extras (after the engine's layer,
    which every function has from ``Globals``), or nothing."""
    unknown = set(definition.extras) - set(EXTRA_LAYERS)
    if unknown:
        raise ValueError(f"queue {definition.name!r}: no layer for extras {sorted(unknown)}")
    if not definition.extras:
        return ""
    refs = ", ".join(f"!Ref {EXTRA_LAYERS[extra]}" for extra in sorted(definition.extras))
    return f"      Layers: [{refs}]\n"


def render_poller(definition: QueueDefinition) -> str:
    """One queue's poller and its error alarm, as YAML text."""
    return POLLER.format(
        logical_id=logical_id(definition.name),
        name=definition.name,
        layers=layers_of(definition),
        memory=definition.poller_memory_mb,
        timeout=definition.poller_timeout_s,
        reserved=reserved_concurrency(definition),
        grants="".join(f"        - {policy}\n" for policy in policies_of(definition)),
    )


def render_template(text: str, registry: QueueRegistry) -> str:
    """``text`` with the generated pollers block rewritten for ``registry``."""
    pollers = "".join(render_poller(d) for d in sorted(registry, key=lambda d: d.name))
    text, found = POLLERS_BLOCK.subn(lambda m: m[1] + pollers + m[3], text)
    if found != 1:
        raise ValueError("template.yaml lost its generated pollers markers")
    return text


def main(argv: list[str] | None = None, registry: QueueRegistry | None = None) -> int:
    """Rewrite the template, or with ``--check`` say whether it matches the registry."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the template is stale")
    args = parser.parse_args(argv)
    registry = registry or load_registry()
    problems = unfit(registry)
    for problem in problems:
        print(problem)
    if problems:
        return 1
    current = TEMPLATE.read_text()
    wanted = render_template(current, registry)
    if args.check:
        if current != wanted:
            print("template.yaml is stale: run PYTHONPATH=functions python -m infra.deploy.queues")
            return 1
        return 0
    TEMPLATE.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
