"""Job ids: the ULID layout, digit by digit."""

from __future__ import annotations

from corral.ids import new_job_id

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def value_of(job_id: str) -> int:
    value = 0
    for char in job_id:
        value = value * 32 + CROCKFORD.index(char)
    return value


def test_an_id_is_26_digits_with_the_time_in_its_top_48_bits() -> None:
    for ms in (0, 1, 1_733_000_000_000, 2**48 - 1):
        job_id = new_job_id(ms)
        assert len(job_id) == 26
        assert set(job_id) <= set(CROCKFORD)
        assert value_of(job_id) >> 80 == ms


def test_ids_sort_by_time_and_differ_within_a_millisecond() -> None:
    ids = [new_job_id(ms) for ms in (1_733_000_000_000, 1_733_000_000_001, 1_733_000_000_032)]
    assert ids == sorted(ids)
    same_ms = {new_job_id(1_733_000_000_000) for _ in range(1000)}
    assert len(same_ms) == 1000
    # 80 random bits: every one of the last 16 digits varies.
    for position in range(10, 26):
        assert len({job_id[position] for job_id in same_ms}) > 16
