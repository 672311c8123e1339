"""The HTTP API function: FastAPI behind Mangum."""
