"""``[recording] stamp``: what drawing the time and speed into each recorded frame costs.

The recorder converts every frame to 4:2:0 (``cv2.cvtColor``, which it does
anyway) and, with the stamp on, calls ``stamp.draw_strip`` on the converted
copy: the bottom strip's rows only. Timed per frame, in batches interleaved
with the alternatives so load drifts hit all alike (medians of the batches):

- ``strip``: ``draw_strip`` (the stamp's whole cost);
- ``convert``: the BGR to I420 conversion the recorder does for every frame;
- ``full-frame``: what a naive stamp costs, a copy of the whole BGR frame (the
  captured image is shared with inference) and ``putText`` on it;
- ``encode``: the software encoder's own ``write`` per frame, without and with
  the stamp (libx264 ``ultrafast``, one thread), for scale.

    python bench/bench_stamp.py [--size 1920x1080] [--batches 15] [--frames 60]
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "app"))

import cv2  # noqa: E402

from dashcam.recording.software import SoftwareEncoder  # noqa: E402
from dashcam.recording.stamp import draw_strip, live_line  # noqa: E402
from dashcam.records import Frame  # noqa: E402
from dashcam.synthetic import SyntheticWorld  # noqa: E402

T0 = 1700000000.0


def load():
    with open("/proc/loadavg") as handle:
        return handle.read().split()[:3]


def per_frame_us(step, count):
    """Wall and CPU microseconds a call of ``step(i)``, over ``count`` calls."""
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(count):
        step(i)
    return ((time.perf_counter() - wall) * 1e6 / count,
            (time.process_time() - cpu) * 1e6 / count)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--batches", type=int, default=15)
    parser.add_argument("--frames", type=int, default=60, help="frames per batch")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    world = SyntheticWorld(seed=7, width=width, height=height)
    images = [world.frame(i)[0] for i in range(8)]
    i420 = [cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420) for image in images]
    texts = [live_line(T0 + i / 30.0, 50.0 + i % 7) for i in range(args.frames)]

    def strip(i):
        draw_strip(i420[i % len(i420)], width, height, texts[i])

    def convert(i):
        cv2.cvtColor(images[i % len(images)], cv2.COLOR_BGR2YUV_I420)

    def full_frame(i):
        copy = images[i % len(images)].copy()
        cv2.putText(copy, texts[i], (2, height - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.67,
                    (255, 255, 255), 1, cv2.LINE_AA)

    folder = tempfile.mkdtemp(prefix="bench_stamp_")
    encoders = {}
    for name, stamp in (("encode", None), ("encode+stamp", lambda t: live_line(t, 52.0))):
        encoders[name] = SoftwareEncoder(os.path.join(folder, name.replace("+", "_")),
                                         segment_seconds=3600.0, threads=1, stamp=stamp)
        encoders[name].run_id = 1
    counters = {name: 0 for name in encoders}

    def encode(name):
        def step(i):
            n = counters[name]
            counters[name] += 1
            encoders[name].write(Frame(n, images[n % len(images)], n / 30.0, T0 + n / 30.0,
                                       None))
        return step

    steps = {"strip": strip, "convert": convert, "full-frame": full_frame,
             "encode": encode("encode"), "encode+stamp": encode("encode+stamp")}
    runs = {name: [] for name in steps}
    for _ in range(args.batches):
        for name, step in steps.items():
            runs[name].append(per_frame_us(step, args.frames))
    for encoder in encoders.values():
        encoder.close()
    result = {"size": args.size, "frames": args.batches * args.frames, "load": load(),
              "cores": os.cpu_count()}
    for name, figures in runs.items():
        result[name] = {"wall_us": round(statistics.median(w for w, _ in figures), 1),
                        "cpu_us": round(statistics.median(c for _, c in figures), 1)}
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
