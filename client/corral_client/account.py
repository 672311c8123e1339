"""The client's calls on what belongs to the caller beyond single jobs and queues: repeatable
jobs (schedules), its history, its webhooks, a dashboard sign-in link, who it is, and the
deployment's health."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from corral_client import types as reply
from corral_client.calls import Calls
from corral_client.transport import AsyncConnection, Connection, documented_by


class AccountMethods(Connection):
    """Blocking calls on schedules, history, webhooks and the caller."""

    def create_schedule(self, schedule: Mapping[str, Any]) -> reply.Schedule:
        return self._send(Calls.create_schedule(schedule))

    def list_schedules(self) -> reply.SchedulePage:
        return self._send(Calls.list_schedules())

    def get_schedule(self, schedule_id: str) -> reply.Schedule:
        return self._send(Calls.get_schedule(schedule_id))

    def delete_schedule(self, schedule_id: str) -> reply.Deleted:
        return self._send(Calls.delete_schedule(schedule_id))

    def pause_schedule(self, schedule_id: str) -> reply.Schedule:
        """Stop enqueuing a schedule's jobs (and cancel those waiting for their time)."""
        return self._send(Calls.schedule_action(schedule_id, "pause"))

    def resume_schedule(self, schedule_id: str) -> reply.Schedule:
        return self._send(Calls.schedule_action(schedule_id, "resume"))

    def history(
        self, queue: str | None = None, start: str | None = None, end: str | None = None
    ) -> reply.History:
        """The caller's daily counts, success rate, durations and top errors (``/stats``)."""
        return self._send(Calls.history(queue, start, end))

    def create_webhook(
        self, queue: str, url: str, events: Sequence[str] | None = None
    ) -> reply.WebhookCreated:
        return self._send(Calls.create_webhook(queue, url, events))

    def list_webhooks(self) -> reply.WebhookList:
        return self._send(Calls.list_webhooks())

    def delete_webhook(self, webhook_id: str) -> reply.Deleted:
        return self._send(Calls.delete_webhook(webhook_id))

    def signing_secret(self) -> reply.SigningSecret:
        """The secret that signs the caller's webhook deliveries (a receiver checks them
        with ``corral.webhooks.signing.verify``)."""
        return self._send(Calls.signing_secret())

    def sign_in_link(self, ttl: int | None = None) -> reply.SignInLink:
        """A one-time link path (``/dashboard#signin=...``) that opens the dashboard signed
        in with this client's token; it works once, within ``ttl`` seconds (default 60)."""
        return self._send(Calls.sign_in_link(ttl))

    def me(self) -> reply.Me:
        return self._send(Calls.me())

    def health(self) -> reply.Health:
        return self._send(Calls.health())


@documented_by(AccountMethods)
class AsyncAccountMethods(AsyncConnection):
    """The calls on schedules, history, webhooks and the caller, for asyncio code."""

    async def create_schedule(self, schedule: Mapping[str, Any]) -> reply.Schedule:
        return await self._send(Calls.create_schedule(schedule))

    async def list_schedules(self) -> reply.SchedulePage:
        return await self._send(Calls.list_schedules())

    async def get_schedule(self, schedule_id: str) -> reply.Schedule:
        return await self._send(Calls.get_schedule(schedule_id))

    async def delete_schedule(self, schedule_id: str) -> reply.Deleted:
        return await self._send(Calls.delete_schedule(schedule_id))

    async def pause_schedule(self, schedule_id: str) -> reply.Schedule:
        return await self._send(Calls.schedule_action(schedule_id, "pause"))

    async def resume_schedule(self, schedule_id: str) -> reply.Schedule:
        return await self._send(Calls.schedule_action(schedule_id, "resume"))

    async def history(
        self, queue: str | None = None, start: str | None = None, end: str | None = None
    ) -> reply.History:
        return await self._send(Calls.history(queue, start, end))

    async def create_webhook(
        self, queue: str, url: str, events: Sequence[str] | None = None
    ) -> reply.WebhookCreated:
        return await self._send(Calls.create_webhook(queue, url, events))

    async def list_webhooks(self) -> reply.WebhookList:
        return await self._send(Calls.list_webhooks())

    async def delete_webhook(self, webhook_id: str) -> reply.Deleted:
        return await self._send(Calls.delete_webhook(webhook_id))

    async def signing_secret(self) -> reply.SigningSecret:
        return await self._send(Calls.signing_secret())

    async def sign_in_link(self, ttl: int | None = None) -> reply.SignInLink:
        return await self._send(Calls.sign_in_link(ttl))

    async def me(self) -> reply.Me:
        return await self._send(Calls.me())

    async def health(self) -> reply.Health:
        return await self._send(Calls.health())
