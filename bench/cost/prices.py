"""AWS unit prices, us-east-1, on-demand list prices. Check them before relying on a figure.

Each constant names the page it comes from. They are the prices those pages listed as of
``PRICES_AS_OF``; AWS changes them (DynamoDB on-demand halved on 2024-11-01, for one).
The ElastiCache Valkey rates were checked again against a listing of June 2026.
"""

from __future__ import annotations

PRICES_AS_OF = "2025-06"
REGION = "us-east-1"

# https://aws.amazon.com/lambda/pricing/ (Arm, first 7.5 billion GB-seconds a month)
LAMBDA_REQUEST = 0.20 / 1e6
LAMBDA_GB_SECOND_ARM = 0.0000133334

# https://aws.amazon.com/api-gateway/pricing/ (HTTP APIs, first 300 million a month)
HTTP_API_REQUEST = 1.00 / 1e6

# https://aws.amazon.com/dynamodb/pricing/on-demand/ (Standard table class)
DYNAMODB_WRITE_UNIT = 0.625 / 1e6
DYNAMODB_READ_UNIT = 0.125 / 1e6

# https://aws.amazon.com/sqs/pricing/ (standard queues, after the free first million)
SQS_REQUEST = 0.40 / 1e6

# https://aws.amazon.com/eventbridge/pricing/ (custom events, per 64 KB entry)
EVENTBRIDGE_EVENT = 1.00 / 1e6

# https://aws.amazon.com/elasticache/pricing/ (Serverless, Valkey)
ELASTICACHE_ECPU = 0.0023 / 1e6
ELASTICACHE_GB_HOUR = 0.084
ELASTICACHE_MIN_GB = 0.1
"""Valkey serverless bills at least 100 MB of data stored."""

HOURS_PER_MONTH = 730
MINUTES_PER_MONTH = HOURS_PER_MONTH * 60
