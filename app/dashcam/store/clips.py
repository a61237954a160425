"""Clips: the ``clips`` rows that link an event to the segments covering its window, and
protect them from retention; the queries that find an event's clip.

Links are written by recording's kind writers (``recording.index``), which
know the windows still open; both writes are idempotent (``INSERT OR IGNORE``,
one row per event and segment), so a batch that the logger retries after a
full disk links the same rows again. Readers take a connection (``conn``) or,
where rows come back as dicts, a reader's sqlite-utils ``db``.
"""

from dashcam.timestamps import iso_utc

OPEN_END = "9999"        # sorts after every ISO time: an open window's end


def link_segment(conn, segment_id, links):
    """Link segment ``segment_id`` to windows, ``(event_id, segment_id, start, end)`` each
    (ISO times, end None while open), and protect it."""
    conn.executemany("INSERT OR IGNORE INTO clips (event_id, segment_id,"
                     " window_start, window_end) VALUES (?, ?, ?, ?)", links)
    conn.execute("UPDATE segments SET protected = 1 WHERE id = ?", (segment_id,))


def link_window(conn, event_id, start, end):
    """Link event ``event_id`` to the indexed segments that overlap [``start``, ``end``]
    (ISO times; end None while the event is open), set its window on every link it
    has, and protect those segments."""
    conn.execute(
        "INSERT OR IGNORE INTO clips (event_id, segment_id, window_start, window_end)"
        " SELECT ?, id, ?, ? FROM segments WHERE ended_at > ? AND started_at < ?",
        (event_id, start, end, start, end or OPEN_END))
    conn.execute("UPDATE clips SET window_start = ?, window_end = ? WHERE event_id = ?",
                 (start, end, event_id))
    conn.execute("UPDATE segments SET protected = 1 WHERE id IN"
                 " (SELECT segment_id FROM clips WHERE event_id = ?)", (event_id,))


def clip_segments(db, event_id):
    """Event ``event_id``'s clip: its segment rows (dicts, oldest first), each with the
    window (``window_start``, ``window_end``); empty when it has none."""
    return list(db.query(
        "SELECT c.window_start, c.window_end, s.* FROM clips c JOIN segments s"
        " ON s.id = c.segment_id WHERE c.event_id = ? ORDER BY s.started_at", [event_id]))


def list_clips(db, since=None):
    """One dict per event with a clip, oldest first: the event's id, type, label and start,
    the window, how many segments, their bytes and their paths joined by ``|``; events
    that started at or after ``since`` (UTC epoch seconds) when given."""
    sql = ("SELECT e.id AS event_id, e.type, e.label, e.ts_start, c.window_start, c.window_end,"
           " count(*) AS segments, sum(s.bytes) AS bytes, group_concat(s.path, '|') AS paths"
           " FROM clips c JOIN events e ON e.id = c.event_id JOIN segments s ON s.id = c.segment_id")
    params = []
    if since is not None:
        sql += " WHERE e.ts_start >= ?"
        params.append(iso_utc(since))
    return list(db.query(sql + " GROUP BY e.id ORDER BY e.ts_start, e.id", params))


def unclipped_events(conn, before_run_id):
    """The events of the run before ``before_run_id`` that have no clip, or whose clip was
    left open: ``(id, type, ts_start, ts_end)`` rows, by id."""
    return conn.execute(
        "SELECT id, type, ts_start, ts_end FROM events WHERE run_id ="
        " (SELECT max(id) FROM runs WHERE id < ?) AND (id NOT IN (SELECT event_id FROM clips)"
        " OR id IN (SELECT event_id FROM clips WHERE window_end IS NULL)) ORDER BY id",
        (before_run_id,))


def clipped_events(conn, segment_ids):
    """The ids of the events whose clips include any of ``segment_ids``."""
    if not segment_ids:
        return []
    return [r[0] for r in conn.execute(
        "SELECT DISTINCT event_id FROM clips WHERE segment_id IN ({})".format(
            ", ".join("?" * len(segment_ids))), segment_ids)]


def protected_clip_segments(conn):
    """``(event_id, path, bytes)`` of each protected segment in each event's clip, by event,
    then oldest first."""
    return conn.execute(
        "SELECT c.event_id, s.path, s.bytes FROM clips c JOIN segments s"
        " ON s.id = c.segment_id WHERE s.protected ORDER BY c.event_id, s.started_at, s.id")
