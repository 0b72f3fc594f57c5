"""Filters' dates must fit SQLite's 64-bit integers."""

from bertsearch.filters import INT64_MAX, INT64_MIN, Filters


def test_dates_beyond_what_nanoseconds_can_hold_are_clamped_not_an_overflow():
    assert Filters(after="2999-01-01", before="0001-01-02").mtime_range() == (INT64_MAX, INT64_MIN)


def test_an_ordinary_date_is_its_nanoseconds():
    assert Filters(after="2024-05-31T00:00:00+00:00").mtime_range() == (1_717_113_600 * 1_000_000_000, None)
