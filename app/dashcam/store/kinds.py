"""How each kind of record becomes rows: the writers the store registers for its own records.

A kind writer is ``write(batch, run_id, records)``: it inserts a run of
records of its type on ``batch.conn`` inside the store's transaction, counts
its rows in ``batch.rows`` and inserts events only through ``insert_event``,
so that every committed event reaches the store's subscribers with its id.
Other stages register writers of the same shape for their own records
(``EventStore.register``).
"""

import json
from collections import Counter

from dashcam import events as ev
from dashcam.store.fixes import stamp
from dashcam.timestamps import iso_utc

DETECTIONS_MODES = ("all", "sampled", "none")

STATS_COLUMNS = (
    "interval_s", "frames_in", "frames_processed", "frames_dropped", "fps_in", "fps_processed",
    "preprocess_ms", "infer_ms", "postprocess_ms", "tracking_ms", "latency_p50_ms",
    "latency_p95_ms", "added_latency_p50_ms", "added_latency_p95_ms", "events", "queue_depth")


class Batch:
    """One transaction as the kind writers see it: the connection and what they wrote.

    ``events``: ``(event_id, Event)`` in insertion order; ``rows``: table -> rows inserted.
    ``position``: ``t`` -> ``(Fix, age_s)`` or None (``gps.GpsState.at``), or None without
    a GPS; ``stamp(t)`` is the position columns at ``t`` (``store.fixes``).
    ``committed``: callables the store calls once the transaction is committed (never for a
    batch rolled back), on the writer's thread: they must not block.
    """

    def __init__(self, conn, position=None):
        self.conn = conn
        self.position = position
        self.events = []
        self.rows = Counter()
        self.committed = []

    def stamp(self, t):
        return stamp(self.position, t)


def insert_event(batch, run_id, event):
    """Insert ``event``; an event that closes another (``events.CLOSES``) sets its end."""
    event_id = batch.conn.execute(
        "INSERT INTO events (run_id, ts_start, ts_end, type, label, track_id, severity,"
        " data, lat, lon, speed_kmh, fix_age_s) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (run_id, iso_utc(event.ts_start), iso_utc(event.ts_end), event.type, event.label,
         event.track_id, event.severity,
         json.dumps(event.data, sort_keys=True) if event.data is not None else None)
        + batch.stamp(event.ts_start),
    ).lastrowid
    opened = ev.CLOSES.get(event.type)
    if opened:
        batch.conn.execute(
            "UPDATE events SET ts_end = ? WHERE run_id = ? AND type = ? AND ts_end IS NULL"
            " AND track_id IS ?", (iso_utc(event.ts_end), run_id, opened, event.track_id))
    batch.events.append((event_id, event))
    batch.rows["events"] += 1
    return event_id


def write_events(batch, run_id, events):
    for event in events:
        insert_event(batch, run_id, event)


def write_stats(batch, run_id, stats):
    """``StatsRecord`` dicts: ``t_utc`` and any of ``STATS_COLUMNS``."""
    batch.conn.executemany(
        "INSERT INTO stats (run_id, ts, {}) VALUES (?, ?, {})".format(
            ", ".join(STATS_COLUMNS), ", ".join("?" * len(STATS_COLUMNS))),
        [(run_id, iso_utc(s["t_utc"])) + tuple(s.get(c) for c in STATS_COLUMNS) for s in stats])
    batch.rows["stats"] += len(stats)


class FrameRows:
    """``FrameRecord``s: their events, their track rows and, as ``detections`` says, their
    detection rows: ``"all"``, ``"sampled"`` (one frame's rows per ``sample_interval``
    seconds) or ``"none"``."""

    def __init__(self, detections="all", sample_interval=1.0):
        if detections not in DETECTIONS_MODES:
            raise ValueError(f"detections must be one of {DETECTIONS_MODES}")
        self.detections = detections
        self.sample_interval = sample_interval
        self._last_sample = None

    def keep(self, t_mono):
        """Whether the frame stamped ``t_mono`` keeps its detection rows."""
        if self.detections != "sampled":
            return self.detections == "all"
        if self._last_sample is None or t_mono - self._last_sample >= self.sample_interval:
            self._last_sample = t_mono
            return True
        return False

    def __call__(self, batch, run_id, records):
        detections, tracks = [], []
        for record in records:
            for event in record.events:
                insert_event(batch, run_id, event)
            tracks.extend(record.tracks)
            if record.frame_index is not None and record.detections and self.keep(record.t_mono):
                ts = iso_utc(record.t_utc)  # once per frame, not per box
                detections.extend(
                    (record.frame_index, ts, track_id, d.label, float(d.confidence),
                     float(d.x1), float(d.y1), float(d.x2), float(d.y2))
                    for d, track_id in zip(record.detections, record.track_ids))
        if detections:
            batch.conn.executemany(
                "INSERT INTO detections (run_id, frame_index, ts, track_id, label,"
                " confidence, x1, y1, x2, y2) VALUES ({:d}, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                .format(run_id), detections)
            batch.rows["detections"] += len(detections)
        if tracks:
            # INSERT OR REPLACE, not UPSERT (SQLite 3.24+; JetPack 4.6 has 3.22):
            # the whole row is rewritten anyway and nothing references it.
            batch.conn.executemany(
                "INSERT OR REPLACE INTO tracks (run_id, track_id, label, first_seen,"
                " last_seen, frames, best_confidence, best_x1, best_y1, best_x2, best_y2,"
                " history, ended) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [_track_values(run_id, t) for t in tracks])
            batch.rows["tracks"] += len(tracks)


def _track_values(run_id, row):
    best = row["best_box"] or (None, None, None, None)
    return (run_id, row["track_id"], row["label"], iso_utc(row["first_seen"]),
            iso_utc(row["last_seen"]), row["frames"], row["best_confidence"],
            best[0], best[1], best[2], best[3],
            json.dumps([[round(t - row["first_seen"], 3)] + [round(c, 1) for c in box]
                        for t, *box in row["history"]]),
            int(bool(row.get("ended"))))
