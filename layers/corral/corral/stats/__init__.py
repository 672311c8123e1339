"""Tenant history: daily counters summed in Redis and flushed to DynamoDB once a minute,
and reports read from them."""

from corral.stats.counters import CounterWriter
from corral.stats.report import MAX_DAYS, Report, StatsRangeError, StatsReader
from corral.stats.table import table_definition
from corral.stats.tally import CounterSink, FlushReport, Tally, TallyFlusher

__all__ = [
    "MAX_DAYS",
    "CounterSink",
    "CounterWriter",
    "FlushReport",
    "Report",
    "StatsRangeError",
    "StatsReader",
    "Tally",
    "TallyFlusher",
    "table_definition",
]
