"""The emulator's own settings (the functions' settings are ``corral.settings``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

RECONCILER = "reconciler.app.handler"


class LocalSettings(BaseSettings):
    """What ``make run`` reads besides the functions' settings.

    Attributes:
        port: the API's port (SAM's default, 3000).
        host: the interface it listens on.
        registry: ``module:attribute`` of another queue registry (tests use one with
            failing and slow handlers); empty for the deployment's queues.
        schedule_s: run every schedule at this period instead of the template's (tests).
        reconcile_s: run the reconciler at this period instead (0: as ``schedule_s``).
        reconcile_grace_ms: how old a record must be before the reconciler judges it.
        aws_port: the loopback port of the emulated AWS (0: any free port).
    """

    model_config = SettingsConfigDict(env_prefix="CORRAL_LOCAL_", extra="ignore")

    port: int = Field(default=3000, validation_alias="PORT")
    host: str = "127.0.0.1"
    registry: str = ""
    schedule_s: float = 0.0
    reconcile_s: float = 0.0
    reconcile_grace_ms: int = 10_000
    # LocalStack's port: tools that know it (aws --endpoint-url) find it where they look.
    aws_port: int = 4566

    def period_s(self, handler: str, template_period_s: float) -> float:
        """How often the scheduled function ``handler`` runs: the template's period, or
        the override for it."""
        if handler == RECONCILER and self.reconcile_s:
            return self.reconcile_s
        return self.schedule_s or template_period_s
