"""The deployment's typed queues. Adding one is a module with a ``queue`` definition, and
one line in the list below."""

from __future__ import annotations

from corral.definition import QueueRegistry

from queues import data_export, email, file_processing, generic_task, sms, webhook

registry = QueueRegistry(
    [
        email.queue,
        sms.queue,
        data_export.queue,
        file_processing.queue,
        generic_task.queue,
        webhook.queue,
    ]
)

__all__ = ["registry"]
