"""The API-key Lambda authorizer of the HTTP API (``ApiAuth=apikey``)."""
