"""Tenant history: daily counters written as jobs finish, and reports read from them."""

from corral.stats.counters import CounterSink, CounterWriter
from corral.stats.report import MAX_DAYS, Report, StatsRangeError, StatsReader
from corral.stats.table import table_definition

__all__ = [
    "MAX_DAYS",
    "CounterSink",
    "CounterWriter",
    "Report",
    "StatsRangeError",
    "StatsReader",
    "table_definition",
]
