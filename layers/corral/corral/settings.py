"""Settings, parsed once from the environment. No other module reads ``os.environ``."""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class FromEnvironment(BaseModel):
    """A model whose fields are read from the environment, as pydantic-settings reads them.

    A field's variable is its ``validation_alias``, else ``CORRAL_<FIELD>``, matched without
    regard to case; keyword arguments win over the environment. pydantic does the parsing
    (``"true"`` or ``"1"`` for a bool, digits for an int). pydantic-settings did the same
    for these flat fields, and its import alone cost a handler about 100 ms at cold start.
    """

    model_config = ConfigDict(extra="ignore")

    def __init__(self, **values: Any) -> None:
        environ = {name.upper(): value for name, value in os.environ.items()}
        data: dict[str, Any] = {}
        for name, field in type(self).model_fields.items():
            alias = field.validation_alias if isinstance(field.validation_alias, str) else None
            variable = (alias or f"CORRAL_{name}").upper()
            if name in values:
                data[alias or name] = values.pop(name)
            elif variable in environ:
                data[alias or name] = environ[variable]
        super().__init__(**data, **values)


class Settings(FromEnvironment):
    """Everything corral reads from the environment.

    Names are ``CORRAL_<FIELD>`` except ``REDIS_URL``; the template sets each one.
    """

    redis_url: str = Field(default="redis://127.0.0.1:6379/0", validation_alias="REDIS_URL")
    redis_cluster: bool = False
    redis_auth: str = Field(default="none", description="none | password | iam")
    redis_user: str = "default"
    redis_secret_arn: str = ""
    redis_cache_name: str = ""
    key_prefix: str = "corral"
    table: str = "corral-jobs"
    schedules_table: str = "corral-schedules"
    dlq_url: str = ""
    bucket: str = ""
    queue: str = ""
    poller_function: str = ""
    reconciler_function: str = Field(
        default="", description="started at once when Redis lost a queue (empty: schedule only)"
    )
    api_keys: str = ""
    api_keys_source: str = Field(default="", description="secret ARN or SSM name of API keys")
    max_body_bytes: int = 262_144
    # Per-tenant quotas (corral.quotas); 0 turns one off.
    quota_schedules: int = Field(default=100, ge=0, description="schedules per tenant")
    quota_webhooks: int = Field(default=100, ge=0, description="webhooks per tenant")
    quota_waiting_jobs: int = Field(
        default=100_000, ge=0, description="waiting jobs per tenant in one queue"
    )
    quota_enqueue_rate: int = Field(default=500, ge=0, description="jobs/s per tenant (API)")
    quota_enqueue_burst: int = Field(default=5_000, ge=0, description="jobs at once per tenant")
    local: bool = False
    poller_linger_ms: int = Field(default=25, description="idle wait before a poller exits")
    poller_max_idle_ms: int = Field(default=5000, description="most idle wait in a row")
    event_bus: str = Field(default="", description="EventBridge bus of job events (empty: off)")
    event_types: str = Field(
        default="failed,dead-lettered",
        description="lifecycle events sent to the bus: slugs, comma-separated, or 'all'",
    )
    tenant_table: str = Field(default="", description="webhooks, signing secrets, daily stats")
    job_table_provisioned: bool = Field(
        default=False, description="the job table has provisioned capacity (JobTableCapacity)"
    )
    # The typed queues (functions/queues).
    email_sender: str = Field(default="", description="SES v2 FromEmailAddress")
    email_configuration_set: str = ""
    notification_topic_arn: str = Field(default="", description="generic-task sendNotification")
    export_url_ttl_s: int = Field(default=3600, description="presigned URL lifetime of an export")
    file_buckets: str = Field(default="", description="file-processing buckets (default: bucket)")
    file_key_prefix: str = Field(default="{tenant}/", description="file keys a tenant may use")
    region: str = Field(default="us-east-1", validation_alias="AWS_REGION")


@cache
def get_settings() -> Settings:
    """The settings of this process (read once)."""
    return Settings()
