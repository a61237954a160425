"""GPS fixes in the store: the ``fixes`` table (one row per stored fix) and the position
stamp (lat, lon, speed, fix age) that events and segments carry, NULL where there was no fix.

A stamp comes from ``position(t)`` (``gps.GpsState.at``: ``(Fix, age_s)`` or None), given
by the event logger to each batch; the store never makes one up.
"""

from dashcam.senses import Fix
from dashcam.timestamps import iso_utc, parse_iso

STAMP_COLUMNS = ("lat", "lon", "speed_kmh", "fix_age_s")
NO_STAMP = (None, None, None, None)


def stamp(position, t):
    """``(lat, lon, speed_kmh, fix_age_s)`` at ``t`` (UTC epoch seconds) from ``position``
    (None: no GPS), or ``NO_STAMP``."""
    found = position(t) if position is not None and t is not None else None
    if found is None:
        return NO_STAMP
    fix, age = found
    speed = fix.speed_kmh
    return (fix.lat, fix.lon, None if speed is None else round(speed, 2), round(age, 3))


def write_fixes(batch, run_id, records):
    """The kind writer of ``gps.FixRecord``: one ``fixes`` row each."""
    batch.conn.executemany(
        "INSERT INTO fixes (run_id, ts, fix_time, lat, lon, alt, speed, heading, mode)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(run_id, iso_utc(r.received), iso_utc(r.fix.time), r.fix.lat, r.fix.lon, r.fix.alt,
          r.fix.speed, r.fix.heading, r.fix.mode) for r in records])
    batch.rows["fixes"] += len(records)


def read_fixes(conn, where, params):
    """The stored ``Fix``es matching ``where`` (SQL on ``ts``, the time each was received),
    in time order; a fix without the receiver's time takes the time it was received."""
    sql = ("SELECT ts, fix_time, lat, lon, alt, speed, heading, mode FROM fixes"
           + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY ts, id")
    out = []
    for ts, fix_time, lat, lon, alt, speed, heading, mode in conn.execute(sql, params):
        out.append(Fix(parse_iso(fix_time or ts), lat, lon, alt, speed, heading, mode))
    return out
