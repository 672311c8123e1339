"""The HTTP side of the client: its errors, the decoding of answers, and the blocking and
asyncio connections that send a described call (``corral_client.calls.Call``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Self, TypeVar, cast

import httpx

from corral_client.calls import Call

T = TypeVar("T")
C = TypeVar("C", bound=type)


def field_errors(body: Any) -> list[str]:
    """``where: what`` for each field error of an error answer (its ``details``)."""
    details = body.get("details") if isinstance(body, dict) else None
    if not isinstance(details, list):
        return []
    found = []
    for detail in details:
        if isinstance(detail, dict) and "msg" in detail:
            where = ".".join(str(part) for part in detail.get("loc") or [])
            found.append(f"{where}: {detail['msg']}" if where else str(detail["msg"]))
    return found


class ApiError(Exception):
    """The API answered with an error status; ``status`` and ``body`` say which, and
    ``fields`` lists the field errors of a 422 (``where: what``)."""

    def __init__(self, status: int, message: str, body: Any) -> None:
        self.fields = field_errors(body)
        lines = "".join(f"\n  {line}" for line in self.fields)
        super().__init__(f"{status}: {message}{lines}")
        self.status = status
        self.message = message
        self.body = body


def result_of(response: httpx.Response) -> Any:
    """The decoded answer (its text if it is not JSON); raises ApiError on an error status."""
    try:
        body = response.json()
    except ValueError:
        body = response.text
    if response.status_code >= 400:
        message = body.get("message") or body.get("detail") if isinstance(body, dict) else body
        raise ApiError(response.status_code, str(message), body)
    return body


def auth_headers(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


class Connection:
    """Sends calls and waits for their answers (the base of ``Client``)."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url, headers=auth_headers(token), timeout=timeout, transport=transport
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(self, call: Call[T]) -> T:
        response = self._http.request(call.method, call.path, json=call.json, params=call.params)
        return cast(T, result_of(response))


class AsyncConnection:
    """Sends calls from asyncio code (the base of ``AsyncClient``)."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url, headers=auth_headers(token), timeout=timeout, transport=transport
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _send(self, call: Call[T]) -> T:
        response = await self._http.request(
            call.method, call.path, json=call.json, params=call.params
        )
        return cast(T, result_of(response))


def documented_by(blocking: type) -> Callable[[C], C]:
    """Give an async class's methods the docstrings of its blocking twin's, so each is
    written once (the twins' signatures are held equal by a test)."""

    def apply(cls: C) -> C:
        for name, method in vars(cls).items():
            twin = getattr(blocking, name, None)
            if callable(method) and method.__doc__ is None and twin is not None:
                method.__doc__ = twin.__doc__
        return cls

    return apply
