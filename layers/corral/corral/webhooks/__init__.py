"""Signed webhooks: registrations, URL checks, dispatch to a delivery queue, delivery.

Receivers only need ``corral.webhooks.signing.verify`` (standard library only).
"""

from corral.webhooks.signing import WebhookSignatureError, sign, verify

__all__ = ["WebhookSignatureError", "sign", "verify"]
