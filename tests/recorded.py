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
