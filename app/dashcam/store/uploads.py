"""Clip uploads: one ``uploads`` row per request, so an upload survives a restart.

A row is written when an upload is asked for (the fleet link's ``upload``
command, or an event of an ``[upload] auto`` type) and updated once it is done
or has failed for good; a row still ``queued`` at the start is taken up again
(``pending_uploads``). ``request_id`` is unique, so a request written twice
(a batch the logger retries, an automatic request made again at the start)
stays one row. The fleet's kind writers (``fleet.upload``) call these.
"""

from dashcam.store.schema import has_table
from dashcam.timestamps import iso_utc

QUEUED, DONE, FAILED = "queued", "done", "failed"
STATES = (QUEUED, DONE, FAILED)


def insert_upload(conn, request_id, event_id, url, source, t_utc):
    """A new ``queued`` row; a ``request_id`` already there is left as it is."""
    conn.execute("INSERT OR IGNORE INTO uploads (request_id, event_id, url, source, state,"
                 " requested_at) VALUES (?, ?, ?, ?, ?, ?)",
                 (request_id, event_id, url, source, QUEUED, iso_utc(t_utc)))


def update_upload(conn, request_id, state, attempts, size, sha256, error, t_utc):
    """The outcome (or the attempts so far) of request ``request_id``."""
    conn.execute("UPDATE uploads SET state = ?, attempts = ?, bytes = ?, sha256 = ?, error = ?,"
                 " updated_at = ? WHERE request_id = ?",
                 (state, attempts, size, sha256, error, iso_utc(t_utc), request_id))


def pending_uploads(conn):
    """The requests still ``queued``, oldest first: ``(request_id, event_id, url, source,
    attempts)`` tuples."""
    return conn.execute("SELECT request_id, event_id, url, source, attempts FROM uploads"
                        " WHERE state = ? ORDER BY id", (QUEUED,)).fetchall()


def events_without_upload(conn, types, runs=2):
    """``(id, type)`` of the events of ``types`` in the newest ``runs`` runs that have no
    upload row of any request: automatic uploads that a stop or a crash cut off."""
    if not types:
        return []
    return conn.execute(
        "SELECT id, type FROM events WHERE type IN ({}) AND run_id IN (SELECT id FROM runs"
        " ORDER BY id DESC LIMIT ?) AND id NOT IN (SELECT event_id FROM uploads)"
        " ORDER BY id".format(", ".join("?" * len(types))),
        sorted(types) + [runs]).fetchall()


def upload_summary(conn, recent=5):
    """``{"states": {state: n}, "recent": [dict, ...]}``: the rows by state, and the newest
    ``recent`` rows (request, event, source, state, attempts, bytes, sha256, error, times);
    empty where the store has no uploads table (an older schema)."""
    if not has_table(conn, "uploads"):
        return {"states": {}, "recent": []}
    states = dict(conn.execute("SELECT state, count(*) FROM uploads GROUP BY state").fetchall())
    columns = ("request_id", "event_id", "source", "state", "attempts", "bytes", "sha256",
               "error", "requested_at", "updated_at")
    rows = conn.execute("SELECT {} FROM uploads ORDER BY id DESC LIMIT ?".format(
        ", ".join(columns)), (recent,)).fetchall()
    return {"states": states, "recent": [dict(zip(columns, row)) for row in rows]}
