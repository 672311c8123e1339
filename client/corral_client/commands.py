"""The ``corral`` command's subcommands: each takes the client and the parsed arguments and
returns what to print (``corral_client.output`` prints it)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from corral_client import bulk, flow
from corral_client.client import FINAL_STATUSES, Client
from corral_client.output import progress_bar


class UsageError(Exception):
    """A command given without what it needs."""


def _load_json(text: str) -> Any:
    """JSON given inline, or ``@path`` to read it from a file."""
    if text.startswith("@"):
        text = Path(text[1:]).read_text(encoding="utf-8")
    return json.loads(text)


def _options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {
        "delay": args.delay,
        "priority": args.priority,
        "attempts": args.attempts,
        "jobId": args.job_id,
    }
    if args.dedup:
        options["deduplication"] = {"id": args.dedup}
    return {k: v for k, v in options.items() if v is not None}


def cmd_enqueue(client: Client, args: argparse.Namespace, out: TextIO) -> Any:
    if args.file:
        lines = bulk.read_lines(Path(args.file).read_text(encoding="utf-8"), args.id_seed)

        def progress(done: int, total: int) -> None:
            progress_bar(done, total, sys.stderr)

        result = bulk.enqueue_lines(client, args.queue, lines, args.batch_size, progress)
        sys.stderr.write("\n")
        return result
    return client.enqueue(args.queue, _load_json(args.data), _options(args))


def cmd_status(client: Client, args: argparse.Namespace, out: TextIO) -> Any:
    job = client.status(args.queue, args.job)
    while args.wait and job["status"] not in FINAL_STATUSES:
        progress = job.get("progress")
        if isinstance(progress, int | float):
            progress_bar(int(progress), 100, sys.stderr)
        job = client.wait(args.queue, args.job, poll_s=0.5, timeout_s=0.5)
    if args.wait:
        sys.stderr.write("\n")
    return job


def cmd_stats(client: Client, args: argparse.Namespace, out: TextIO) -> Any:
    return client.stats(args.queue)


def cmd_jobs(client: Client, args: argparse.Namespace, out: TextIO) -> Any:
    return client.jobs(args.queue, args.status, args.limit, args.cursor)


def cmd_job_action(client: Client, args: argparse.Namespace, out: TextIO) -> Any:
    return getattr(client, args.command)(args.queue, args.job)


def cmd_logs(client: Client, args: argparse.Namespace, out: TextIO) -> Any:
    """Print every line of a job's log (``--json``: the pages as the API answers them)."""
    cursor, pages = None, []
    while True:
        page = client.logs(args.queue, args.job, cursor, 1000)
        pages.append(page)
        if not args.json:
            for line in page["logs"]:
                when = datetime.fromtimestamp(line["ts"] / 1000, UTC)
                print(f"{when.isoformat(timespec='milliseconds')}  {line['message']}", file=out)
        cursor = page["nextCursor"]
        if cursor is None:
            return {"logs": [line for p in pages for line in p["logs"]], "nextCursor": None}


def cmd_change(client: Client, args: argparse.Namespace, out: TextIO) -> Any:
    change: dict[str, Any] = {"priority": args.priority, "delay": args.delay}
    if args.data is not None:
        change["data"] = _load_json(args.data)
    if all(v is None for v in change.values()):
        raise UsageError("change needs --data, --priority or --delay")
    return client.change(args.queue, args.job, **change)


def cmd_limits(client: Client, args: argparse.Namespace, out: TextIO) -> Any:
    """Show a queue's limits in force, or set some at runtime (admin)."""
    change: dict[str, Any] = {
        "concurrency": args.concurrency,
        "groupConcurrency": args.group_concurrency,
    }
    if args.rate_max is not None:
        change["rateLimit"] = {"max": args.rate_max, "durationMs": args.rate_ms}
    change = {k: v for k, v in change.items() if v is not None}
    for name in args.reset or ():
        change[name] = None
    if not change:
        stats = client.stats(args.queue)
        return {"queue": args.queue, "settings": stats.get("settings")}
    return client.set_limits(args.queue, **change)


def cmd_group_limits(client: Client, args: argparse.Namespace, out: TextIO) -> Any:
    """Show a key group's limits in force, or set them at runtime (admin). The limits
    given replace all its runtime ones (PUT); a limit not given comes from its jobs."""
    limits: dict[str, Any] = {}
    if args.concurrency is not None:
        limits["concurrency"] = args.concurrency
    if args.rate_max is not None:
        limits["rateLimit"] = {"max": args.rate_max, "durationMs": args.rate_ms}
    if not limits and not args.reset:
        return client.key_group(args.queue, args.group)
    return client.set_key_group(args.queue, args.group, **limits)


def cmd_groups(client: Client, args: argparse.Namespace, out: TextIO) -> Any:
    """A queue's key groups with jobs waiting or running, or runtime limits (admin)."""
    return client.key_groups(args.queue, limit=args.limit)


def cmd_admin(client: Client, args: argparse.Namespace, out: TextIO) -> Any:
    if args.command == "clean":
        return client.clean(args.queue, status=args.status, grace=args.grace, limit=args.limit)
    return getattr(client, args.command)(args.queue)


def cmd_schedules(client: Client, args: argparse.Namespace, out: TextIO) -> Any:
    if args.action == "list":
        return client.list_schedules()
    if args.action in ("delete", "pause", "resume"):
        if not args.id:
            raise UsageError(f"schedules {args.action} needs a schedule id")
        return getattr(client, f"{args.action}_schedule")(args.id)
    if not args.queue or not (args.cron or args.every):
        raise UsageError("schedules create needs --queue and --cron or --every")
    schedule: dict[str, Any] = {"queue": args.queue, "data": _load_json(args.data)}
    if args.cron:
        schedule.update(cron=args.cron, tz=args.tz)
    else:
        schedule["every"] = args.every
    if args.id:
        schedule["id"] = args.id
    return client.create_schedule(schedule)


def cmd_flow(client: Client, args: argparse.Namespace, out: TextIO) -> Any:
    return flow.add(client, args.file, args.wait)


def cmd_dashboard(client: Client, args: argparse.Namespace, out: TextIO) -> Any:
    link = client.sign_in_link(args.ttl)
    return {"url": args.url.rstrip("/") + link["path"], "expiresAt": link["expiresAt"]}
