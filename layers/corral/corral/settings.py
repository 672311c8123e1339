"""Settings, parsed once from the environment. No other module reads ``os.environ``."""

from __future__ import annotations

from functools import cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything corral reads from the environment.

    Names are ``CORRAL_<FIELD>`` except ``REDIS_URL``; the template sets each one.
    """

    model_config = SettingsConfigDict(env_prefix="CORRAL_", extra="ignore")

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
    api_keys: str = ""
    api_keys_source: str = Field(default="", description="secret ARN or SSM name of API keys")
    max_body_bytes: int = 262_144
    local: bool = False
    event_bus: str = Field(default="", description="EventBridge bus of job events (empty: off)")
    tenant_table: str = Field(default="", description="webhooks, signing secrets, daily stats")
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


class ClientSettings(BaseSettings):
    """What the ``corral`` command line reads: where the API is and the token to use."""

    model_config = SettingsConfigDict(env_prefix="CORRAL_", extra="ignore")

    url: str = "http://127.0.0.1:3000"
    token: str = ""
