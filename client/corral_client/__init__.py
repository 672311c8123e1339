"""corral-client: the typed Python client and the ``corral`` command line for corral's
HTTP API. It needs httpx only: none of the server side (the ``corral`` engine, Redis,
boto3, FastAPI) is imported or installed with it."""

from corral_client.client import FINAL_STATUSES, ApiError, AsyncClient, Client
from corral_client.names import InvalidIdentifierError

__all__ = ["FINAL_STATUSES", "ApiError", "AsyncClient", "Client", "InvalidIdentifierError"]
