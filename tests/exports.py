"""Stores to export: real SQLite files written by the real writer, and the recording feature's
tables added by hand (until recording lands on this branch) with a stand-in clip joiner."""

import os
import subprocess
import sys
import textwrap

from dashcam import events as ev
from dashcam.errors import DashcamError
from dashcam.records import Detection, FrameRecord, StatsRecord
from dashcam.store import EventStore

T0 = 1700000000.0

# What the recording feature adds to the store (its contract, as this branch knows it).
def frame(index, t, boxes=2):
    detections = [Detection(0, "car", 0.9, 10.0 * i, 5.0, 10.0 * i + 8, 20.0) for i in range(boxes)]
    return FrameRecord(index, float(index), t, detections, list(range(boxes)), 0.01, [], [])


def fill(store, run, seconds=60, fps=5):
    """A minute of a run: frames with detections, an object event a second, stats, alerts."""
    records = []
    for second in range(seconds):
        t = T0 + second
        records += [frame(second * fps + i, t + i / float(fps)) for i in range(fps)]
        records.append(ev.Event(ev.OBJECT_APPEARED, t, t + 0.5, "car", second, ev.INFO,
                                {"second": second}))
        if second % 5 == 0:
            records.append(StatsRecord(t_utc=t, frames_in=fps * 5, fps_in=float(fps)))
    written = store.write(run, records)
    # alerts as the alerts feature will write them (it has no kind writer on this branch yet)
    store.conn.execute("BEGIN IMMEDIATE")
    store.conn.executemany(
        "INSERT INTO alerts (event_id, ts, sink, message, delivered) VALUES (?, ?, ?, ?, 1)",
        [(event_id, f"2023-11-14T22:13:{20 + i:02d}.000Z", "led", "car ahead")
         for i, (event_id, _) in enumerate(written.events[:3])])
    store.conn.execute("COMMIT")
    return [event_id for event_id, _ in written.events]


def make_store(path, seconds=60):
    with EventStore(path) as store:
        run = store.begin_run(T0, "0.1.0", source="synthetic://")
        ids = fill(store, run, seconds)
        store.end_run(run, T0 + seconds)
    return ids


def add_recordings(db_path, recordings, event_ids, segment_bytes=20000):
    """Rows in the recording tables, and for each event a snapshot JPEG and a clip of two
    protected segments (bytes on disk that nothing here decodes); an unprotected segment
    beside them."""
    import sqlite3

    conn = sqlite3.connect(db_path, isolation_level=None)
    os.makedirs(os.path.join(recordings, "segments"), exist_ok=True)
    os.makedirs(os.path.join(recordings, "snapshots"), exist_ok=True)
    for n, event_id in enumerate(event_ids):
        rel_snapshot = f"snapshots/{event_id}.jpg"
        with open(os.path.join(recordings, rel_snapshot), "wb") as handle:
            handle.write(os.urandom(3000 + n))
        conn.execute("UPDATE events SET snapshot = ? WHERE id = ?", (rel_snapshot, event_id))
        for part in range(3):
            rel = f"segments/{event_id}-{part}.ts"
            with open(os.path.join(recordings, rel), "wb") as handle:
                handle.write(os.urandom(segment_bytes))
            segment_id = conn.execute(
                "INSERT INTO segments (run_id, path, started_at, ended_at, frames, bytes, protected)"
                " VALUES (1, ?, ?, ?, 50, ?, ?)", (rel, f"2023-11-14T22:13:{part:02d}.000Z",
                                                  f"2023-11-14T22:13:{part + 1:02d}.000Z",
                                                  segment_bytes, int(part < 2))).lastrowid
            if part < 2:
                conn.execute("INSERT INTO clips (event_id, segment_id, window_start) VALUES "
                             "(?, ?, '2023-11-14T22:13:00.000Z')", (event_id, segment_id))
    conn.close()


class NoClip(DashcamError):
    """What the recording feature raises for an event without a clip."""


def standin_write_clip(reader, event_id, out_path, recordings_dir):
    """A stand-in for ``dashcam.recording.write_clip`` until recording lands: it joins the
    event's clip segments by concatenating them (the real one remuxes into MP4)."""
    paths = [row[0] for row in reader.conn.execute(
        "SELECT s.path FROM clips c JOIN segments s ON s.id = c.segment_id WHERE c.event_id = ?"
        " ORDER BY s.started_at", (event_id,))]
    if not paths:
        raise NoClip(f"event {event_id} has no clip")
    with open(out_path, "wb") as out:
        for path in paths:
            with open(os.path.join(recordings_dir, path), "rb") as handle:
                out.write(handle.read())


def sha256sum_check(folder):
    """``sha256sum -c MANIFEST.sha256`` in ``folder``: (exit status, output)."""
    result = subprocess.run(["sha256sum", "-c", "--strict", "MANIFEST.sha256"], cwd=folder,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True)
    return result.returncode, result.stdout


KILLER = textwrap.dedent("""
    import os, signal, sys
    sys.path[:0] = [{app!r}, {tests!r}]
    from dashcam.export import write_export
    from exports import standin_write_clip
    seen = []
    def progress(done, total, what):
        if what == "clips and snapshots":
            seen.append(done)
            if len(seen) == {calls}:
                os.kill(os.getpid(), signal.SIGKILL)
    write_export({stick!r}, {db!r}, {recordings!r}, with_clips=True,
                 write_clip=standin_write_clip, progress=progress, host="box")
""")


def killed_export(stick, db_path, recordings, calls):
    """An export with clips (to ``dashcam-box``) in another Python that kills itself (SIGKILL)
    at the ``calls``-th progress call while copying evidence: one call a chunk (1 MiB) written,
    before the file is committed. Its ``CompletedProcess``."""
    tests = os.path.dirname(os.path.abspath(__file__))
    script = KILLER.format(app=os.path.join(os.path.dirname(tests), "app"), tests=tests,
                           stick=stick, db=db_path, recordings=recordings, calls=calls)
    return subprocess.run([sys.executable, "-c", script], stderr=subprocess.PIPE, timeout=120)
