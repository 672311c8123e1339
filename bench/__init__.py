"""``make bench``: corral beside BullMQ, RQ, SAQ and Celery on one dedicated Redis."""
