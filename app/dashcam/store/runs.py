"""The runs table: a run's id and row, its end, and the runs that a crash left open.

A run's id is allocated without a write (``next_run_id``: the writer holds
the store's lock, so no other process adds runs), and its row is a record
like any other (``RunBegun``), the event logger's first: a run whose store
is full at the start runs all the same, and its row lands, first and under
the same id as everything queued behind it, when the store takes writes again.
"""

import json
import logging
from collections import namedtuple

from dashcam import events as ev
from dashcam.store.kinds import insert_event
from dashcam.timestamps import iso_utc, parse_iso

log = logging.getLogger(__name__)


class RunBegun(namedtuple("RunBegun", "run_id started_at version config model backend precision "
                                      "source backend_reason")):
    """A run's row (``started_at`` in UTC epoch seconds); written after the runs that a
    crash left open are closed (``close_interrupted``)."""

    __slots__ = ()


def next_run_id(conn, after=0):
    """The id of the next run: above every run in the store, and above ``after``."""
    return max(conn.execute("SELECT coalesce(max(id), 0) FROM runs").fetchone()[0], after) + 1


def write_runs_begun(batch, run_id, records):
    """The kind writer of ``RunBegun``."""
    for r in records:
        close_interrupted(batch)
        batch.conn.execute(
            "INSERT INTO runs (id, started_at, version, config, model, backend, precision,"
            " source, backend_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (r.run_id, iso_utc(r.started_at), r.version, r.config, r.model, r.backend,
             r.precision, r.source, r.backend_reason))
        batch.rows["runs"] += 1


def end_run(conn, run_id, ended_at, summary=None):
    conn.execute("UPDATE runs SET ended_at = ?, summary = ? WHERE id = ?",
                 (iso_utc(ended_at), json.dumps(summary, sort_keys=True)
                  if summary is not None else None, run_id))


def close_interrupted(batch):
    """Close the runs that a crash, kill or power cut left open; returns their ids.

    Each is ended at its last committed row, its summary says ``crashed``, and
    a ``run_interrupted`` event records it. Only safe in the writer, which
    holds the store's lock: no other writer's run is in progress.
    """
    closed = []
    open_runs = batch.conn.execute(
        "SELECT id, started_at FROM runs WHERE ended_at IS NULL ORDER BY id").fetchall()
    for run_id, started_at in open_runs:
        ended_at = max([started_at] + [t for t in last_rows(batch.conn, run_id) if t])
        batch.conn.execute("UPDATE runs SET ended_at = ?, summary = ? WHERE id = ?",
                           (ended_at, json.dumps({"crashed": True, "run_id": run_id}), run_id))
        insert_event(batch, run_id, ev.run_interrupted(parse_iso(ended_at), run_id))
        log.warning("run %d had no orderly stop (crash, kill or power cut): closed at %s, "
                    "its last committed row", run_id, ended_at)
        closed.append(run_id)
    return closed


def last_rows(conn, run_id):
    """The latest time each table holds for ``run_id`` (ISO text, None when empty)."""
    one = conn.execute
    # detections: walk back from the newest row (ids grow with time, and
    # the open run is nearly always the last), not over the whole run.
    newest = one("SELECT ts FROM detections WHERE run_id = ? ORDER BY id DESC LIMIT 1",
                 (run_id,)).fetchone()
    events = one("SELECT max(ts_start), max(ts_end) FROM events WHERE run_id = ?",
                 (run_id,)).fetchone()
    return [newest[0] if newest else None, events[0], events[1],
            one("SELECT max(last_seen) FROM tracks WHERE run_id = ?", (run_id,)).fetchone()[0],
            one("SELECT max(ts) FROM stats WHERE run_id = ?", (run_id,)).fetchone()[0]]
