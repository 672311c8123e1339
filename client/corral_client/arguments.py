"""The ``corral`` command's arguments: one subparser per subcommand, each bound to its
function in ``corral_client.commands``."""

from __future__ import annotations

import argparse
import os
from typing import TypeAlias

from corral_client import bulk
from corral_client.commands import (
    cmd_admin,
    cmd_change,
    cmd_dashboard,
    cmd_enqueue,
    cmd_flow,
    cmd_group_limits,
    cmd_groups,
    cmd_job_action,
    cmd_jobs,
    cmd_limits,
    cmd_logs,
    cmd_schedules,
    cmd_stats,
    cmd_status,
)

DEFAULT_URL = "http://127.0.0.1:3000"
# What add_subparsers returns; argparse names its type only privately.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
DESCRIPTION = "``corral``: the command line for a corral deployment, over its HTTP API."


def environment(name: str, default: str = "") -> str:
    """The variable ``name``, whatever its case (``CORRAL_URL`` or ``corral_url``)."""
    found = {key.upper(): value for key, value in os.environ.items()}
    return found.get(name.upper(), default)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="corral", description=DESCRIPTION)
    p.add_argument(
        "--url", default=environment("CORRAL_URL", DEFAULT_URL), help="API URL (env CORRAL_URL)"
    )
    p.add_argument(
        "--token", default=environment("CORRAL_TOKEN"), help="bearer token (env CORRAL_TOKEN)"
    )
    p.add_argument("--json", action="store_true", help="print JSON, for scripts")
    sub = p.add_subparsers(dest="command", required=True)
    job_commands(sub)
    admin_commands(sub)
    other_commands(sub)
    # `--json` is welcome after the subcommand too; SUPPRESS keeps a leading one.
    for command in sub.choices.values():
        command.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    return p


def job_commands(sub: Subparsers) -> None:
    """Enqueue, follow, list and change jobs."""
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


def rate_limit_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rate-max", type=int, help="most starts per window (0: no limit)")
    p.add_argument("--rate-ms", type=int, default=1000, help="the rate window (ms)")


def admin_commands(sub: Subparsers) -> None:
    """Limits, key groups and the queue-wide operations (admin)."""
    lm = sub.add_parser("limits", help="show a queue's limits, or set them at runtime (admin)")
    lm.add_argument("queue")
    lm.add_argument("--concurrency", type=int, help="most jobs at once (0: no limit)")
    lm.add_argument("--group-concurrency", type=int, help="most jobs of one tenant at once")
    rate_limit_arguments(lm)
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
    rate_limit_arguments(gl)
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


def other_commands(sub: Subparsers) -> None:
    """Schedules, flows, the dashboard and the local emulator."""
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
