"""The segment index: one ``segments`` row per recorded video file, its path relative to the
recordings folder, and the ``events.snapshot`` paths of the JPEGs made from them.

Recording indexes each closed segment (``add_segment``) and deletes the rows
of the files retention deleted; retention lists them oldest first; snapshots
find the segment that holds an event's frame. Readers take a connection
(``conn``) or, where rows come back as dicts, a reader's sqlite-utils ``db``.
"""

from dashcam.store.fixes import NO_STAMP
from dashcam.timestamps import iso_utc


def add_segment(conn, segment, place=NO_STAMP):
    """Index ``segment`` (a ``SegmentClosed``) unless its path already is, with ``place``
    (``store.fixes.STAMP_COLUMNS`` at its start); returns its row id.

    ``INSERT OR IGNORE``: a batch that the logger retries after a full disk
    indexes the segment once.
    """
    conn.execute(
        "INSERT OR IGNORE INTO segments (run_id, path, started_at, ended_at, frames,"
        " bytes, width, height, encoder, recovered, lat, lon, speed_kmh, fix_age_s)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (segment.run_id, segment.path, iso_utc(segment.started_at), iso_utc(segment.ended_at),
         segment.frames, segment.bytes, segment.width, segment.height, segment.encoder,
         int(bool(segment.recovered))) + tuple(place))
    return conn.execute("SELECT id FROM segments WHERE path = ?", (segment.path,)).fetchone()[0]


def write_segment_deletions(batch, run_id, records):
    """The kind writer of ``SegmentsDeleted``: the rows of the deleted files and their clip links."""
    ids = [(segment_id,) for r in records for segment_id in r.ids]
    batch.conn.executemany("DELETE FROM clips WHERE segment_id = ?", ids)
    batch.conn.executemany("DELETE FROM segments WHERE id = ?", ids)
    batch.rows["segments_deleted"] += len(ids)


def write_snapshot_paths(batch, run_id, records):
    """The kind writer of ``SnapshotTaken``: each event's ``snapshot`` path."""
    batch.conn.executemany("UPDATE events SET snapshot = ? WHERE id = ?",
                           [(r.path, r.event_id) for r in records])
    batch.rows["snapshots"] += len(records)


def indexed_segment_paths(conn):
    """The paths of every indexed segment, a set."""
    return {r[0] for r in conn.execute("SELECT path FROM segments")}


def segments_by_start(db):
    """Every segment row (dicts: id, path, started_at, ended_at, bytes, protected), oldest first."""
    return db.query("SELECT id, path, started_at, ended_at, bytes, protected"
                    " FROM segments ORDER BY started_at")


def segment_covering(db, t):
    """The segment recorded at ``t`` (ISO time), a dict of path, run_id, started_at, ended_at; or None."""
    return _latest_segment(db, "started_at <= ? AND ended_at > ?", [t, t])


def segment_after(db, t):
    """The latest segment that started after ``t`` (ISO time), or None."""
    return _latest_segment(db, "started_at > ?", [t])


def segment_ending_in(db, since, until):
    """The latest segment that ended in (``since``, ``until``] (ISO times), or None."""
    return _latest_segment(db, "ended_at <= ? AND ended_at > ?", [until, since])


def _latest_segment(db, where, params):
    return next(db.query("SELECT path, run_id, started_at, ended_at FROM segments WHERE "
                         + where + " ORDER BY started_at DESC LIMIT 1", params), None)


def event_snapshots(conn):
    """``(event_id, path)`` of every event with a snapshot, by event id; only on a store
    whose ``events`` has the ``snapshot`` column (``table_columns``)."""
    return conn.execute(
        "SELECT id, snapshot FROM events WHERE snapshot IS NOT NULL AND snapshot != ''"
        " ORDER BY id")


def events_without_snapshot(conn, event_ids):
    """Those of ``event_ids`` whose event exists and has no snapshot, a set."""
    ids, found = sorted(event_ids), set()
    for start in range(0, len(ids), 500):   # SQLite's limit on bound parameters is 999
        chunk = ids[start:start + 500]
        found.update(r[0] for r in conn.execute(
            "SELECT id FROM events WHERE (snapshot IS NULL OR snapshot = '') AND id IN ({})".format(
                ", ".join("?" * len(chunk))), chunk))
    return found


def unsnapped_events(db, before_run_id, types, limit):
    """The newest ``limit`` events of the run before ``before_run_id`` that have no snapshot,
    of ``types`` (None: any), oldest first: dicts of id, type, ts_start, ts_end, label,
    track_id, severity and data (JSON text)."""
    sql = ("SELECT id, type, ts_start, ts_end, label, track_id, severity, data FROM events"
           " WHERE run_id = (SELECT max(id) FROM runs WHERE id < ?)"
           " AND (snapshot IS NULL OR snapshot = '')")
    params = [before_run_id]
    if types is not None:
        sql += " AND type IN ({})".format(", ".join("?" * len(types)))
        params.extend(sorted(types))
    rows = list(db.query(sql + " ORDER BY id DESC LIMIT ?", params + [limit]))
    return rows[::-1]
