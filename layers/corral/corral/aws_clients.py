"""boto3 clients of one region, each built on first use (``AwsClients``).

Its own module so that a function needing only a client or two (the authorizer) imports
this and not the rest of the wiring (``corral.wiring``), which every other function uses.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from corral.lazy_client import LazyClient

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


class AwsClients:
    """boto3 clients of one region, each built once on first use, all forgotten at once.

    Args:
        region: the AWS region.
    """

    def __init__(self, region: str) -> None:
        self.region = region
        self._proxies: dict[tuple[str, str], LazyClient] = {}
        self._lock = threading.Lock()

    def _proxy(self, kind: str, name: str, build: Callable[[], Any]) -> Any:
        with self._lock:
            proxy = self._proxies.get((kind, name))
            if proxy is None:
                proxy = self._proxies[kind, name] = LazyClient(build)
        return proxy

    def _config(self) -> Any:
        from botocore.config import Config

        return Config(retries={"mode": "standard"}, region_name=self.region)

    def client(self, service: str) -> Any:
        """The client of ``service`` (``"dynamodb"``, ``"sqs"``, ``"lambda"``, ...)."""

        def build() -> Any:
            import boto3

            return boto3.client(service, config=self._config())  # type: ignore[call-overload]

        return self._proxy("client", service, build)

    def resource(self, service: str) -> Any:
        """The resource API of ``service`` (``"dynamodb"``)."""

        def build() -> Any:
            import boto3

            return boto3.resource(service, config=self._config())  # type: ignore[call-overload]

        return self._proxy("resource", service, build)

    def table(self, name: str) -> Table:
        """A DynamoDB table of the resource API (the schedules' store reads through one)."""
        table: Table = self._proxy("table", name, lambda: self.resource("dynamodb").Table(name))
        return table

    def reset(self) -> None:
        """Forget every client built: each proxy builds a new one on its next use."""
        with self._lock:
            proxies = list(self._proxies.values())
        for proxy in proxies:
            proxy.reset()
