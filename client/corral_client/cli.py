"""``corral``: the command line for a corral deployment, over its HTTP API.

``main`` runs one command: ``corral_client.arguments`` parses it, ``corral_client.commands``
runs it and ``corral_client.output`` prints its result.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import httpx

from corral_client import bulk
from corral_client.arguments import DEFAULT_URL, parser
from corral_client.client import ApiError, Client
from corral_client.commands import UsageError
from corral_client.local import run_local
from corral_client.names import InvalidIdentifierError
from corral_client.output import show
from corral_client.redact import redact_text, redact_url

__all__ = ["DEFAULT_URL", "main", "parser"]


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
