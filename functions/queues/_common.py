"""What every typed queue shares: the seeds' common payload fields, and the process's AWS
clients (``aws_client``, from ``corral.wiring``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from corral.errors import NonRetryableError
from corral.job import CamelModel, Identifier
from corral.wiring import aws_client as aws_client  # the queues build their clients here
from pydantic import Field

if TYPE_CHECKING:
    from botocore.exceptions import ClientError

THROTTLE_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "KMSThrottlingException",
        "LimitExceededException",
        "SlowDown",
        "ServiceUnavailable",
        "InternalFailure",
        "InternalError",
        "InternalErrorException",
    }
)
"""AWS error codes that mean "later", not "never"."""


class TenantPayload(CamelModel):
    """The fields every seed payload carries: the tenant, and an optional user and metadata."""

    sub_account_id: Identifier
    user_id: str | None = None
    metadata: dict[str, Any] | None = None


def error_code(exc: ClientError) -> str:
    """The AWS error code of a ``ClientError``."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def is_transient(exc: BaseException) -> bool:
    """Whether an AWS call failed for a reason that a later try may not meet again."""
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

    if isinstance(exc, ClientError):
        return error_code(exc) in THROTTLE_CODES
    return isinstance(exc, ConnectionError | HTTPClientError)


def nonempty_list(max_length: int) -> Any:
    """A list field that must hold 1..``max_length`` items."""
    return Field(min_length=1, max_length=max_length)


@contextmanager
def final_unless_transient() -> Iterator[None]:
    """Turn an AWS error that no retry can fix (no such bucket, access denied) into a
    ``NonRetryableError``; throttling and network errors propagate and retry."""
    from botocore.exceptions import ClientError

    try:
        yield
    except ClientError as exc:
        if is_transient(exc):
            raise
        raise NonRetryableError(f"{error_code(exc)}: {exc}") from exc
