"""Frames and segments for the recording tests: the synthetic road, real libx264 files."""

import hashlib
import os
import threading
import time

import numpy as np

from dashcam.records import Frame
from dashcam.synthetic import SyntheticWorld

T0 = 1700000000.0


def frames(count, fps=30.0, width=160, height=96, start=0, seed=3):
    """``count`` synthetic frames stamped ``i / fps`` seconds apart from ``T0``."""
    world = SyntheticWorld(seed=seed, width=width, height=height, fps=fps)
    for i in range(start, start + count):
        image, _ = world.frame(i)
        yield Frame(i, np.ascontiguousarray(image), 100.0 + i / fps, T0 + i / fps, None)


def decode(path):
    """(frames decoded, seconds from first to last frame time) of a video file, by PyAV."""
    import av

    with av.open(path) as container:
        stream = container.streams.video[0]
        times = [float(f.pts * stream.time_base) for f in container.decode(stream)]
    return len(times), (times[-1] - times[0]) if times else 0.0


def wait_for(condition, timeout=20.0, poll=0.05):
    """Wait until ``condition()`` is true (polled every ``poll`` s); False after ``timeout``."""
    ticker = threading.Event()
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        ticker.wait(poll)
    return True


def recorded_evidence(folder, events=6, width=640, height=360, gap_s=4.0):
    """A real store with real recordings in ``folder`` (``dashcam.db``, ``rec/``): ``events``
    object events ``gap_s`` apart, each with a 3 s clip of libx264 segments (2 s each) and a
    JPEG snapshot of its frame, written through the recording feature's own encoder and
    index. Returns ``(db path, recordings folder, event ids)``."""
    import os

    import cv2

    from dashcam import events as ev
    from dashcam.recording.index import ClipRequest, RecordingIndex, SnapshotTaken
    from dashcam.recording.software import SoftwareEncoder
    from dashcam.store import EventStore

    db_path, recordings = os.path.join(folder, "dashcam.db"), os.path.join(folder, "rec")
    store = EventStore(db_path)
    RecordingIndex().register(store)
    run = store.begin_run(T0, "test")
    times = [T0 + 2.0 + gap_s * i for i in range(events)]
    ids = [event_id for event_id, _ in store.write(run, [
        ev.Event(ev.OBJECT_APPEARED, t, None, "car", i, ev.INFO, {}) for i, t in
        enumerate(times)]).events]
    encoder = SoftwareEncoder(recordings, segment_seconds=2.0)
    encoder.run_id = run
    closed, shots = [], []
    os.makedirs(os.path.join(recordings, "snapshots"), exist_ok=True)
    for frame in frames(int((times[-1] + 3.0 - T0) * 30), width=width, height=height):
        closed.extend(encoder.write(frame))
        for event_id, t in zip(ids, times):
            if abs(frame.t_utc - t) < 0.5 / 30:
                name = f"snapshots/event-{event_id:06d}.jpg"
                cv2.imwrite(os.path.join(recordings, name), frame.image)
                shots.append(SnapshotTaken(event_id, name))
    closed += encoder.close()
    with store:
        store.write(run, closed + shots + [ClipRequest(i, t - 1.0, t + 2.0)
                                           for i, t in zip(ids, times)])
        store.end_run(run, times[-1] + 3.0)
    return db_path, recordings, ids


def fingerprints(folder):
    """``{relative path: (sha256, mtime in ns)}`` of every file under ``folder``: two
    equal fingerprints mean not a byte and not a timestamp changed."""
    found = {}
    for root, _, names in os.walk(folder):
        for name in names:
            full = os.path.join(root, name)
            with open(full, "rb") as handle:
                found[os.path.relpath(full, folder)] = (hashlib.sha256(handle.read()).hexdigest(),
                                                        os.stat(full).st_mtime_ns)
    return found
