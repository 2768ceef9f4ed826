"""Times people type, weekly slots and intervals, across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from socialsell.timeparse import (
    add_interval,
    parse_date_end,
    parse_interval,
    parse_slot_rule,
    parse_when,
    to_utc,
    upcoming_slots,
)

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # Monday 09:00 in Berlin


@pytest.mark.parametrize("text, expected", [
    ("2026-12-01 09:00", datetime(2026, 12, 1, 8, 0, tzinfo=UTC)),
    ("2026-12-01T09:00", datetime(2026, 12, 1, 8, 0, tzinfo=UTC)),
    ("2026-12-01T09:00+00:00", datetime(2026, 12, 1, 9, 0, tzinfo=UTC)),
    ("tomorrow 09:00", datetime(2026, 11, 24, 8, 0, tzinfo=UTC)),
    ("today 14:00", datetime(2026, 11, 23, 13, 0, tzinfo=UTC)),
    ("wed 10:00", datetime(2026, 11, 25, 9, 0, tzinfo=UTC)),
    ("mon 09:00", datetime(2026, 11, 30, 8, 0, tzinfo=UTC)),  # today at now: next week
    ("+2h", datetime(2026, 11, 23, 10, 0, tzinfo=UTC)),
    ("+45s", datetime(2026, 11, 23, 8, 0, 45, tzinfo=UTC)),
    ("+30m", datetime(2026, 11, 23, 8, 30, tzinfo=UTC)),
    ("now", NOW),
])  # fmt: skip
def test_parse_when_forms(text, expected):
    assert parse_when(text, NOW, BERLIN) == expected


@pytest.mark.parametrize("text", ["next tuesday", "2026-13-01 09:00", "tomorrow 25:00", "+2y", ""])
def test_parse_when_refuses_with_a_hint(text):
    with pytest.raises(ValueError, match="cannot read"):
        parse_when(text, NOW, BERLIN)


@pytest.mark.parametrize("text", ["2026-12-01", "tomorrow", "Thu", " today "])
def test_a_day_without_a_time_is_refused(text):
    """Issue 12 item 7: a bare date would silently mean midnight."""
    with pytest.raises(ValueError, match="has no time of day: give one, e.g. '.* 09:00'"):
        parse_when(text, NOW, BERLIN)


def test_format_due_shows_the_date_beyond_this_week():
    from socialsell.timeparse import format_due

    assert format_due(datetime(2026, 11, 26, 13, 0, tzinfo=UTC), NOW, BERLIN) == "Thu 14:00"
    assert format_due(datetime(2026, 11, 30, 13, 0, tzinfo=UTC), NOW, BERLIN) == "Mon 30 Nov 14:00"
    assert format_due(datetime(2026, 11, 20, 13, 0, tzinfo=UTC), NOW, BERLIN) == "Fri 20 Nov 14:00"  # overdue


def test_plus_days_keeps_wall_clock_across_march_change():
    before = datetime(2027, 3, 27, 8, 0, tzinfo=UTC)  # Sat 09:00 CET
    after = parse_when("+1d", before, BERLIN)  # Sun 28 March: clocks go forward
    assert after.astimezone(BERLIN).hour == 9
    assert after == datetime(2027, 3, 28, 7, 0, tzinfo=UTC)


def test_slots_across_march_change_stay_at_local_time():
    rules = [parse_slot_rule("daily 09:00")]
    after = datetime(2027, 3, 26, 12, 0, tzinfo=UTC)
    got = list(upcoming_slots(rules, after, BERLIN, limit=4))
    assert [g.astimezone(BERLIN).strftime("%d %H:%M") for g in got] == ["27 09:00", "28 09:00", "29 09:00", "30 09:00"]
    assert [g.hour for g in got] == [8, 7, 7, 7]  # CET (UTC+1) then CEST (UTC+2)


def test_slots_across_october_change_stay_at_local_time():
    rules = [parse_slot_rule("daily 09:00")]
    after = datetime(2027, 10, 29, 12, 0, tzinfo=UTC)
    got = list(upcoming_slots(rules, after, BERLIN, limit=3))
    assert [g.astimezone(BERLIN).strftime("%d %H:%M") for g in got] == ["30 09:00", "31 09:00", "01 09:00"]
    assert [g.hour for g in got] == [7, 8, 8]


def test_skipped_and_repeated_hours():
    # 02:30 does not exist on 28 March 2027 in Berlin: moved forward by the gap
    assert to_utc(datetime(2027, 3, 28, 2, 30), BERLIN) == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)
    assert to_utc(datetime(2027, 3, 28, 2, 30), BERLIN).astimezone(BERLIN).hour == 3
    # 02:30 happens twice on 31 October 2027: the first one
    assert to_utc(datetime(2027, 10, 31, 2, 30), BERLIN) == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)


@pytest.mark.parametrize("start, every, expected_local", [
    (datetime(2027, 3, 22, 8, 0, tzinfo=UTC), "7d", "2027-03-29 09:00"),
    (datetime(2027, 10, 25, 7, 0, tzinfo=UTC), "1w", "2027-11-01 09:00"),
    (datetime(2027, 10, 30, 7, 0, tzinfo=UTC), "24h", "2027-10-31 08:00"),  # hours are elapsed time
])  # fmt: skip
def test_add_interval_days_are_wall_clock_hours_are_elapsed(start, every, expected_local):
    assert add_interval(start, every, BERLIN).astimezone(BERLIN).strftime("%Y-%m-%d %H:%M") == expected_local


def test_parse_slot_rule_and_interval_and_dates():
    rule = parse_slot_rule("mon-fri 12:30, 09:00")
    assert str(rule) == "mon-fri 09:00, 12:30"
    assert str(parse_slot_rule("sat,sun 10:00")) == "sat,sun 10:00"
    with pytest.raises(ValueError):
        parse_slot_rule("someday 09:00")
    with pytest.raises(ValueError):
        parse_slot_rule("mon 9")
    assert parse_interval("7d") == (7, "d")
    with pytest.raises(ValueError):
        parse_interval("0d")
    assert parse_date_end("2026-12-31", BERLIN) == datetime(2026, 12, 31, 22, 59, 59, tzinfo=UTC)
    with pytest.raises(ValueError):
        parse_date_end("31/12/2026", BERLIN)
