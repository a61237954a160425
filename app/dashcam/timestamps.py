"""UTC timestamps as the store keeps them: ISO-8601 with milliseconds and a ``Z``.

One fixed-width format (``2024-05-01T12:34:56.789Z``) so that text comparison in
SQLite is time comparison, and an index on a timestamp column serves range
queries. Python 3.6 has no ``datetime.fromisoformat``, hence the small parser.
"""

import datetime
import re

from dashcam.errors import DashcamError

_UTC = datetime.timezone.utc
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=_UTC)

_ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?$")
_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|h|d)$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def iso_utc(epoch_s):
    """``epoch_s`` (seconds since 1970, UTC) as ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""
    if epoch_s is None:
        return None
    millis = int(round(epoch_s * 1000.0))
    moment = _EPOCH + datetime.timedelta(milliseconds=millis)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{millis % 1000:03d}Z"


def parse_iso(text):
    """Seconds since the epoch for an ISO-8601 date or date-time.

    A time without an offset is taken as UTC (the store's zone); ``Z`` and
    ``+HH:MM`` offsets are honoured. Raises ``DashcamError`` naming the text.
    """
    unreadable = DashcamError(
        "cannot read time {!r}: use ISO-8601 such as 2024-05-01T12:30:00Z, "
        "a date such as 2024-05-01, or an age such as 15m, 2h, 1d".format(text))
    match = _ISO.match(text.strip())
    if not match:
        raise unreadable
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micros = int((fraction or "0").ljust(6, "0"))
    try:
        moment = datetime.datetime(int(year), int(month), int(day), int(hour or 0),
                                   int(minute or 0), int(second or 0), micros, tzinfo=_UTC)
    except ValueError:  # month 13, February 30th, hour 25: the shape was right, the date not
        raise unreadable
    if zone and zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        moment -= sign * datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return (moment - _EPOCH).total_seconds()


def parse_time(text, now):
    """Seconds since the epoch for ``text``: ISO-8601, or an age before ``now``.

    Ages are a number and a unit, ``s``, ``m``, ``h`` or ``d`` (``15m`` is a
    quarter of an hour before ``now``), the way one asks for "the last hour".
    """
    relative = _RELATIVE.match(text.strip())
    if relative:
        return now - float(relative.group(1)) * _UNIT_S[relative.group(2)]
    return parse_iso(text)
