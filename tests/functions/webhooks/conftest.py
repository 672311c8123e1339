"""Fixtures of the webhook tests: the events tests' AWS stack (``aws``)."""

from tests.functions.events.conftest import aws

__all__ = ["aws"]
