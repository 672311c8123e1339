"""``python -m bench.chaos.moto_server HOST PORT``: moto's server, minus two costs per request.

The same app ``python -m moto.server`` serves (every service, in memory, threaded), with:

- no access log line per request: tens of thousands a run, each written under the
  logging lock; errors are still logged;
- the list of moto's service modules read once: the app looks up each request's host in
  it, and moto lists its package directory (and stats every entry) to build it each time.
"""

from __future__ import annotations

import sys
from typing import Any

from moto import backends
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


class QuietRequestHandler(MotoRequestHandler):
    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        """No access log (``log_error`` still writes)."""


def main(host: str, port: int) -> None:
    modules = list(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, app, threaded=True, request_handler=QuietRequestHandler)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
