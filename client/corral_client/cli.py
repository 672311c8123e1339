"""``corral``: the command line for a corral deployment, over its HTTP API."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import httpx

from corral_client import bulk, flow
from corral_client.client import FINAL_STATUSES, ApiError, Client
from corral_client.local import run_local
from corral_client.names import InvalidIdentifierError
from corral_client.redact import redact_text, redact_url

DEFAULT_URL = "http://127.0.0.1:3000"


class UsageError(Exception):
    """A command given without what it needs."""


def _load_json(text: str) -> Any:
    """JSON given inline, or ``@path`` to read it from a file."""
    if text.startswith("@"):
        text = Path(text[1:]).read_text(encoding="utf-8")
    return json.loads(text)


def cell(column: str, value: Any) -> str:
    """A value as a table shows it: epoch-ms times as UTC, nothing for null."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int) and (column.endswith("At") or column == "nextRun"):
        return datetime.fromtimestamp(value / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str], out: TextIO) -> None:
    """Print rows as aligned columns (those no row has are left out)."""
    columns = [c for c in columns if any(c in row for row in rows)] or columns
    cells = [[cell(c, row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    print("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)), file=out)
    for r in cells:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)), file=out)


def progress_bar(done: int, total: int, out: TextIO, width: int = 30) -> None:
    filled = width * done // max(total, 1)
    out.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    out.flush()


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


def show(result: Any, args: argparse.Namespace, out: TextIO) -> None:
    """Tables for people; ``--json`` for scripts."""
    if args.json or not isinstance(result, dict):
        print(json.dumps(result, indent=2), file=out)
        return
    if flow.is_tree(result):
        flow.print_tree(result, out)
        return
    for key, columns in (
        (
            "queues",
            [
                "name",
                "waiting",
                "delayed",
                "processing",
                "completed",
                "failed",
                "deadLetter",
                "paused",
            ],
        ),
        (
            "jobs",
            [
                *("line", "jobId", "status", "deduplicated", "attemptsMade", "attempts"),
                *("name", "tenant", "createdAt", "completedAt"),
            ],
        ),
        ("schedules", ["id", "queue", "cron", "tz", "every", "nextRun", "count", "paused"]),
    ):
        if isinstance(result.get(key), list):
            table(result[key], columns, out)
            if result.get("nextCursor"):
                print(f"next: --cursor {result['nextCursor']}", file=out)
            if "accepted" in result:  # a bulk enqueue's totals
                totals = f"accepted {result['accepted']}, deduplicated {result['deduplicated']}"
                print(totals, file=out)
            return
    width = max(len(k) for k in result) if result else 0
    for key, value in result.items():
        text = cell(key, value) if isinstance(value, str | int) else json.dumps(value)
        print(f"{key.ljust(width)}  {text}", file=out)


def environment(name: str, default: str = "") -> str:
    """The variable ``name``, whatever its case (``CORRAL_URL`` or ``corral_url``)."""
    found = {key.upper(): value for key, value in os.environ.items()}
    return found.get(name.upper(), default)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="corral", description=__doc__)
    p.add_argument(
        "--url", default=environment("CORRAL_URL", DEFAULT_URL), help="API URL (env CORRAL_URL)"
    )
    p.add_argument(
        "--token", default=environment("CORRAL_TOKEN"), help="bearer token (env CORRAL_TOKEN)"
    )
    p.add_argument("--json", action="store_true", help="print JSON, for scripts")
    sub = p.add_subparsers(dest="command", required=True)

    e = sub.add_parser("enqueue", help="enqueue a job, or many from a JSON-lines file")
    e.add_argument("queue")
    source = e.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", help="payload JSON, or @file")
    source.add_argument(
        "--file",
        help="JSON lines: one payload (or {data, options}) per line; checked whole before any "
        "is sent, and safe to rerun (each line has a stable job id)",
    )
    e.add_argument("--id-seed", default="", help="with --file: a new seed enqueues lines anew")
    e.add_argument("--batch-size", type=int, default=bulk.BATCH, help="with --file")
    for flag in ("--delay", "--priority", "--attempts"):
        e.add_argument(flag, type=int)
    e.add_argument("--job-id")
    e.add_argument("--dedup", help="deduplication id")
    e.set_defaults(run=cmd_enqueue)

    s = sub.add_parser("status", help="a job's status")
    s.add_argument("queue")
    s.add_argument("job")
    s.add_argument("--wait", action="store_true", help="follow the job to its end")
    s.set_defaults(run=cmd_status)

    st = sub.add_parser("stats", help="queue counts")
    st.add_argument("queue", nargs="?")
    st.set_defaults(run=cmd_stats)

    j = sub.add_parser("jobs", help="list a queue's jobs")
    j.add_argument("queue")
    j.add_argument(
        "--status",
        help="pending, processing, completed, failed or cancelled (aliases: "
        "waiting, delayed, active)",
    )
    j.add_argument("--limit", type=int, default=20)
    j.add_argument("--cursor")
    j.set_defaults(run=cmd_jobs)

    for name, about in (
        ("retry", "run a failed or cancelled job again"),
        ("cancel", "cancel a job that has not started"),
        ("promote", "make a delayed job due now"),
    ):
        a = sub.add_parser(name, help=about)
        a.add_argument("queue")
        a.add_argument("job")
        a.set_defaults(run=cmd_job_action)

    lg = sub.add_parser("logs", help="the lines a job's handler logged")
    lg.add_argument("queue")
    lg.add_argument("job")
    lg.set_defaults(run=cmd_logs)

    ch = sub.add_parser("change", help="change a job that has not started")
    ch.add_argument("queue")
    ch.add_argument("job")
    ch.add_argument("--data", help="new payload JSON, or @file")
    ch.add_argument("--priority", type=int)
    ch.add_argument("--delay", type=int, help="ms from now (0: run it now)")
    ch.set_defaults(run=cmd_change)

    lm = sub.add_parser("limits", help="show a queue's limits, or set them at runtime (admin)")
    lm.add_argument("queue")
    lm.add_argument("--concurrency", type=int, help="most jobs at once (0: no limit)")
    lm.add_argument("--group-concurrency", type=int, help="most jobs of one tenant at once")
    lm.add_argument("--rate-max", type=int, help="most starts per window (0: no limit)")
    lm.add_argument("--rate-ms", type=int, default=1000, help="the rate window (ms)")
    lm.add_argument(
        "--reset",
        action="append",
        choices=["concurrency", "groupConcurrency", "rateLimit"],
        help="back to the deployed value",
    )
    lm.set_defaults(run=cmd_limits)

    gs = sub.add_parser("groups", help="list a queue's key groups, busiest first (admin)")
    gs.add_argument("queue")
    gs.add_argument("--limit", type=int, default=100, help="most key groups listed")
    gs.set_defaults(run=cmd_groups)

    gl = sub.add_parser(
        "group-limits",
        help="show a key group's limits (jobs sharing options.group.id), or set them (admin)",
    )
    gl.add_argument("queue")
    gl.add_argument("group", help="the key group's id (options.group.id; not the tenant)")
    gl.add_argument("--concurrency", type=int, help="most of its jobs at once (0: no limit)")
    gl.add_argument("--rate-max", type=int, help="most starts per window (0: no limit)")
    gl.add_argument("--rate-ms", type=int, default=1000, help="the rate window (ms)")
    gl.add_argument(
        "--reset",
        action="store_true",
        help="drop its runtime limits: its jobs' own options.group apply again",
    )
    gl.set_defaults(run=cmd_group_limits)

    for name in ("pause", "resume", "redrive", "clean"):
        a = sub.add_parser(name, help=f"{name} a queue (admin)")
        a.add_argument("queue")
        if name == "clean":
            a.add_argument(
                "--status",
                default="completed",
                help="completed, failed or cancelled (removed); pending, waiting or delayed "
                "(cancelled)",
            )
            a.add_argument("--grace", type=int, default=0, help="ms")
            a.add_argument("--limit", type=int, default=1000)
        a.set_defaults(run=cmd_admin)

    sc = sub.add_parser("schedules", help="repeatable jobs")
    sc.add_argument("action", choices=["list", "create", "delete", "pause", "resume"])
    sc.add_argument("id", nargs="?")
    sc.add_argument("--queue")
    sc.add_argument("--data", default="{}")
    sc.add_argument("--cron")
    sc.add_argument("--tz", default="UTC")
    sc.add_argument("--every", type=int, help="ms")
    sc.set_defaults(run=cmd_schedules)

    f = sub.add_parser("flow", help="add a flow from a JSON file and print its tree of ids")
    f.add_argument("file", help="{queue, data, options?, children?: [...]}")
    f.add_argument("--wait", action="store_true", help="follow every job to its end")
    f.set_defaults(run=cmd_flow)

    d = sub.add_parser("dashboard", help="print a one-time link that opens the dashboard")
    d.add_argument("--ttl", type=int, help="seconds the link works (default 60)")
    d.set_defaults(run=cmd_dashboard)

    sub.add_parser("local", help="run the whole system locally (what `make run` runs)")
    # `--json` is welcome after the subcommand too; SUPPRESS keeps a leading one.
    for command in sub.choices.values():
        command.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    return p


def main(
    argv: Sequence[str] | None = None,
    out: TextIO = sys.stdout,
    transport: httpx.BaseTransport | None = None,
) -> int:
    """Run one command; ``transport`` lets tests answer without a server."""
    args = parser().parse_args(argv)
    if args.command == "local":
        return run_local(Path.cwd())
    with Client(args.url, args.token or None, transport=transport) as client:
        try:
            result = args.run(client, args, out)
        except bulk.BadLinesError as exc:
            for problem in exc.problems:
                print(f"error: {problem}", file=sys.stderr)
            print(f"error: {exc}", file=sys.stderr)
            return 1
        except bulk.PartlyEnqueuedError as exc:
            show(exc.report, args, out)
            print(f"error: {exc}", file=sys.stderr)
            return 1
        except (ApiError, InvalidIdentifierError, UsageError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        except httpx.TransportError as exc:
            reason = redact_text(str(exc), args.url)
            print(f"error: cannot reach {redact_url(args.url)}: {reason}", file=sys.stderr)
            return 1
    if args.command == "logs" and not args.json:
        return 0  # printed as it was read
    show(result, args, out)
    # A followed job that did not complete is a failure for the shell (`status --wait && ...`).
    if args.command in ("status", "flow") and args.wait and result.get("status") != "completed":
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
