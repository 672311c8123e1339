"""What a Lambda handler's code does, read from its source: the AWS calls and settings it uses.

``closure`` follows every import (including those inside functions, which run later but
still run) from a handler module through ``functions/`` and the engine. ``aws_actions``
maps each boto3 call in those files to its IAM action, through botocore's own service
models; ``settings_read`` lists the ``Settings`` fields the files touch.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CODE_ROOTS = (ROOT / "functions", ROOT / "layers" / "corral")
SERVICES = {
    "dynamodb": "dynamodb",
    "s3": "s3",
    "sqs": "sqs",
    "sns": "sns",
    "sesv2": "ses",
    "ses": "ses",
    "lambda": "lambda",
    "secretsmanager": "secretsmanager",
    "ssm": "ssm",
    "events": "events",
}
"""boto3 service name to IAM prefix, for the services corral calls."""

SPECIAL = {
    "generate_presigned_url": {"s3:GetObject"},
    "create_multipart_upload": {"s3:PutObject"},
    "upload_part": {"s3:PutObject"},
    "complete_multipart_upload": {"s3:PutObject"},
    "upload_fileobj": {"s3:PutObject"},
    "upload_file": {"s3:PutObject"},
    "download_fileobj": {"s3:GetObject"},
    "head_object": {"s3:GetObject"},
    "invoke": {"lambda:InvokeFunction"},
    "send_message_batch": {"sqs:SendMessage"},
    "delete_message_batch": {"sqs:DeleteMessage"},
}
"""boto3 methods whose IAM action is not the operation's name."""

IGNORED = {"get_paginator", "get_waiter", "can_paginate", "close"}
RECEIVER_HINT = re.compile(
    r"dynamodb|table|client|s3|sqs|sns|ses|lambda|secrets|ssm|boto", re.IGNORECASE
)
"""A call counts as AWS only on a receiver named like a boto3 client or table (so a Redis
``scan`` or ``publish`` does not)."""


def module_file(name: str) -> Path | None:
    """The source file of a module under ``functions/`` or the engine, if it is one."""
    parts = name.split(".")
    for root in CODE_ROOTS:
        base = root.joinpath(*parts)
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
    return None


def _type_checking_only(tree: ast.AST) -> set[ast.AST]:
    """Nodes under ``if TYPE_CHECKING:``: imports for annotations, never run."""
    skipped: set[ast.AST] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
            for child in node.body:
                skipped.update(ast.walk(child))
    return skipped


def _imports(path: Path, package: str) -> set[str]:
    names: set[str] = set()
    tree = ast.parse(path.read_text(), str(path))
    skipped = _type_checking_only(tree)
    for node in ast.walk(tree):
        if node in skipped:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    expanded = set(names)
    for name in names:  # importing a.b.c runs a/__init__ and a/b/__init__ too
        parts = name.split(".")
        expanded.update(".".join(parts[:i]) for i in range(1, len(parts)))
    return expanded


QUEUE_HANDLERS = ROOT / "functions" / "queues"
NOT_RUN_IN_LAMBDA = frozenset({"create_table"})
"""Functions that only tests and the local emulator call (the template creates the tables)."""


@cache
def closure(
    module: str, *, runs_queue_handlers: bool = True, skip: frozenset[str] = frozenset()
) -> frozenset[Path]:
    """Source files of ``module`` and of everything it imports from this repository.

    Only pollers run the queues' handlers: other functions import the registry for queue
    names and payload models, so with ``runs_queue_handlers=False`` the queue modules'
    own files are left out (their ``__init__`` stays). Modules named in ``skip`` are not
    followed.
    """
    seen: dict[str, Path] = {}
    todo = [module]
    while todo:
        name = todo.pop()
        path = module_file(name)
        if name in seen or name in skip or path is None:
            continue
        seen[name] = path
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        todo.extend(_imports(path, package) - set(seen))
    files = frozenset(seen.values())
    if not runs_queue_handlers:
        files = frozenset(f for f in files if f.parent != QUEUE_HANDLERS or f.name == "__init__.py")
    return files


def poller_closure(queue_module: str) -> frozenset[Path]:
    """What one queue's poller runs: the poller and engine, and that queue's own handler.

    The poller imports every queue module (through the registry) but calls only its own
    queue's handler, so the other queues' calls are not its calls.
    """
    engine = closure("poller.app", runs_queue_handlers=False)
    return engine | closure(queue_module, skip=frozenset({"queues"}))


def _methods_outside_test_helpers(tree: ast.AST) -> list[ast.Attribute]:
    """Attribute uses (``client.invoke(...)``, or ``client.invoke`` handed to a thread)."""
    skipped: set[ast.AST] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name in NOT_RUN_IN_LAMBDA:
            skipped.update(ast.walk(node))
    return [n for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n not in skipped]


@cache
def _method_actions() -> dict[str, frozenset[str]]:
    import botocore.session
    from botocore import xform_name

    session = botocore.session.get_session()
    actions: dict[str, set[str]] = {}
    for service, prefix in SERVICES.items():
        for operation in session.get_service_model(service).operation_names:
            actions.setdefault(xform_name(operation), set()).add(f"{prefix}:{operation}")
    for method, special in SPECIAL.items():
        actions[method] = set(special)
    return {method: frozenset(found) for method, found in actions.items()}


def aws_actions(files: frozenset[Path]) -> dict[str, set[str]]:
    """IAM actions the boto3 calls in ``files`` need, each with where it is called."""
    table = _method_actions()
    found: dict[str, set[str]] = {}
    for path in files:
        for node in _methods_outside_test_helpers(ast.parse(path.read_text(), str(path))):
            method = node.attr
            if method in IGNORED or method not in table:
                continue
            if not RECEIVER_HINT.search(ast.unparse(node.value)):
                continue
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            for action in table[method]:
                found.setdefault(action, set()).add(where)
    return found


def settings_read(files: frozenset[Path], fields: set[str]) -> set[str]:
    """The ``Settings`` fields that ``files`` read as attributes (``settings.table``)."""
    used: set[str] = set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Attribute) and node.attr in fields:
                owner = ast.unparse(node.value)
                if "settings" in owner.lower() or owner in {"s", "cfg", "config"}:
                    used.add(node.attr)
    return used
