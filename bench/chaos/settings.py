"""What the chaos processes read from their environment (``CHAOS_*``), parsed once."""

from __future__ import annotations

from functools import cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class ChaosSettings(BaseSettings):
    """Settings shared by the emulator and the poller processes of a chaos run.

    Attributes:
        ledger_url: the Redis that counts side effects (never the one under test: that
            one is flushed and restarted).
        aws_fail_rate: share of DynamoDB and SQS calls answered with a 500 (botocore
            retries these).
        aws_throttle_rate: share answered with a throttling error (retried too).
        aws_outage_rate: share that fail before botocore can retry (the caller sees them).
        short_deadline_rate: share of poller invocations given a deadline of a few seconds.
        scheduler_s: period of the scheduler's ticks (0: no scheduler).
        duplicate_tick_rate: share of scheduler ticks delivered twice.
        delayed_tick_rate: share of scheduler ticks delivered late.
        seed: seeds the fault draws.
    """

    model_config = SettingsConfigDict(env_prefix="CHAOS_", extra="ignore")

    ledger_url: str = ""
    aws_fail_rate: float = 0.0
    aws_throttle_rate: float = 0.0
    aws_outage_rate: float = 0.0
    short_deadline_rate: float = 0.0
    scheduler_s: float = 0.0
    duplicate_tick_rate: float = 0.0
    delayed_tick_rate: float = 0.0
    seed: int = 7


@cache
def get_chaos_settings() -> ChaosSettings:
    """This process's chaos settings (read once)."""
    return ChaosSettings()


def child_env(**extra: str) -> dict[str, str]:
    """This process's environment without any corral, chaos or AWS setting, plus ``extra``."""
    import os

    own = ("CORRAL_", "CHAOS_", "AWS_", "REDIS_URL", "PORT")
    return {**{k: v for k, v in os.environ.items() if not k.startswith(own)}, **extra}
