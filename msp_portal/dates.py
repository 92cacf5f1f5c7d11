"""Business dates. Everything that is a "day" in the product is a day in Asia/Tokyo."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import jpholiday
from django.utils import timezone

TOKYO = ZoneInfo("Asia/Tokyo")
CHARGE_DAY = 25


def today() -> dt.date:
    """Today's business date in Asia/Tokyo."""
    return timezone.now().astimezone(TOKYO).date()


def start_of_day(day: dt.date) -> dt.datetime:
    """00:00 Asia/Tokyo of `day`, as an aware datetime."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=TOKYO)


def charge_date(period: str) -> dt.date:
    """The 25th of a period "YYYY-MM"."""
    year, month = (int(part) for part in period.split("-"))
    return dt.date(year, month, CHARGE_DAY)


def period_of(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + (day.month - 1) + months
    return dt.date(index // 12, index % 12 + 1, min(day.day, 28) if day.day > 28 else day.day)


def latest_due_period(run_date: dt.date) -> str:
    """The latest period whose 25th is on or before `run_date`."""
    if run_date.day >= CHARGE_DAY:
        return period_of(run_date)
    return period_of(add_months(run_date.replace(day=1), -1))


def is_business_day(day: dt.date) -> bool:
    """Weekdays that are not Japanese national holidays."""
    return day.weekday() < 5 and not jpholiday.is_holiday(day)


def add_business_days(start: dt.date, days: int) -> dt.date:
    """The date `days` Japanese business days after `start` (start itself not counted)."""
    current = start
    remaining = days
    while remaining > 0:
        current += dt.timedelta(days=1)
        if is_business_day(current):
            remaining -= 1
    return current


def next_charge_days(today: dt.date) -> tuple[dt.date, dt.date]:
    """This month's 25th and the next month's."""
    this_25 = dt.date(today.year, today.month, CHARGE_DAY)
    return this_25, add_months(this_25, 1)


def label_charge_day(day: dt.date | None = None) -> dt.date:
    """The 25th an estimate is labelled with on `day` (default today): this month's until the
    24th, next month's from the 25th on (the monthly job charges in the first hours of the 25th)."""
    day = day or today()
    this_25, next_25 = next_charge_days(day)
    return this_25 if day < this_25 else next_25
