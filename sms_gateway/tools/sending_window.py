"""The sending window of marketing SMS: working days, opening hours, French public holidays (plain Python)."""

from datetime import date, datetime, time, timedelta
from functools import lru_cache

import pytz

# ISO weekdays (Monday = 1) each choice of "sending days" allows
WEEKDAYS = {"mon_fri": (1, 2, 3, 4, 5), "mon_sat": (1, 2, 3, 4, 5, 6), "every_day": (1, 2, 3, 4, 5, 6, 7)}


def easter_sunday(year):
    """Gregorian Easter Sunday of ``year`` (the anonymous Gregorian algorithm, "Meeus/Jones/Butcher")."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    leap = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * leap) // 451
    month, day = divmod(h + leap - 7 * m + 114, 31)
    return date(year, month, day + 1)


@lru_cache(maxsize=64)
def french_public_holidays(year):
    """The eleven French public holidays of ``year`` (metropolitan France, without the Alsace-Moselle ones)."""
    easter = easter_sunday(year)
    fixed = [(1, 1), (5, 1), (5, 8), (7, 14), (8, 15), (11, 1), (11, 11), (12, 25)]
    moving = [easter + timedelta(days=1), easter + timedelta(days=39), easter + timedelta(days=50)]
    return frozenset([date(year, month, day) for month, day in fixed] + moving)


def _hours(value):
    """A float hour of the settings (8.5 = 08:30) as a time; 24 (or more) is the end of the day."""
    if value >= 24:
        return time.max
    hours = int(value)
    return time(hours, min(round((value - hours) * 60), 59))


def window_opening(now, tz_name="Europe/Paris", start=8.0, end=22.0, days="mon_fri", holidays=True):
    """When an SMS queued at ``now`` (naive UTC, as Odoo stores datetimes) may leave: None when ``now`` is
    inside the window, else the next opening as a naive UTC datetime."""
    tz = pytz.timezone(tz_name or "UTC")
    local = pytz.utc.localize(now).astimezone(tz)
    allowed = WEEKDAYS.get(days, WEEKDAYS["mon_fri"])
    opens, closes = _hours(start), _hours(end)
    if opens >= closes:
        return None  # an empty or inverted window would hold SMS forever: treated as "no window"

    def open_day(day):
        return day.isoweekday() in allowed and not (holidays and day in french_public_holidays(day.year))

    today = local.date()
    if open_day(today) and opens <= local.time() < closes:
        return None
    day = today if local.time() < opens else today + timedelta(days=1)
    for _attempt in range(400):  # at most a year of closed days (every day a holiday cannot happen)
        if open_day(day):
            break
        day += timedelta(days=1)
    opening = tz.localize(datetime.combine(day, opens))
    return opening.astimezone(pytz.utc).replace(tzinfo=None)


def day_and_week_start(now, tz_name="Europe/Paris"):
    """Start of ``now``'s day and of its week (Monday) in ``tz_name``, as naive UTC datetimes."""
    tz = pytz.timezone(tz_name or "UTC")
    local = pytz.utc.localize(now).astimezone(tz).date()
    monday = local - timedelta(days=local.weekday())

    def to_utc(day):
        return tz.localize(datetime.combine(day, time.min)).astimezone(pytz.utc).replace(tzinfo=None)

    return to_utc(local), to_utc(monday)


def mask_number(number):
    """A phone number that can no longer identify its holder: country and first digit kept, then the last two
    (``+33612345678`` -> ``+336******78``), for statistics by country and operator prefix."""
    number = (number or "").strip()
    if len(number) <= 6:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 6) + number[-2:]
