"""CPU use of ``dashcam run`` parked against driving: process CPU time over a fixed wall time.

The whole pipeline on its real parts (the synthetic camera in real time, ONNX Runtime on the
stand-in model, the tracker, SQLite, libx264 recording through PyAV), once driving (the
senses say 54 km/h) and once parked (standing still: parking mode begins at once, then the
camera's frames are let go undrawn but for ``[parking] recording-fps``, and inference runs at
``[parking] fps``), interleaved over ``--rounds``. Each measurement starts ``--settle``
seconds after the run (and parking) began and lasts ``--seconds``.

The synthetic camera draws its frames on the CPU, which a real camera does not: the time
spent drawing (thread CPU time around each ``read``) is given too, and the ratio without it,
which is the one that stands for a camera. Target: parked <= 25 % of driving.

    PYTHONPATH=app python bench/bench_parking.py [--seconds 20] [--rounds 2] [--size 1280x720]
"""

import argparse
import json
import os
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "app"))

from dashcam.capture import open_source  # noqa: E402
from dashcam.config import load_config  # noqa: E402
from dashcam.runtime import build_pipeline  # noqa: E402


class TimedSource:
    """The synthetic source, with the CPU time its ``read`` (drawing a frame) took."""

    def __init__(self, uri):
        self.source = open_source(uri)
        self.drawing_s = 0.0

    def __getattr__(self, name):
        return getattr(self.source, name)

    def read(self):
        started = time.thread_time()
        try:
            return self.source.read()
        finally:
            self.drawing_s += time.thread_time() - started


def cpu_s():
    times = os.times()
    return times.user + times.system


def measure(mode, uri, seconds, settle, folder, round_no):
    """``{cpu_s, drawing_s, wall_s, ...}`` of one run in ``mode`` (``driving``/``parked``)."""
    config = load_config(None)
    config.parking.still_minutes = 0.001          # parked: at once
    config.run.status_interval = 0
    sources = []

    def opener():
        sources.append(TimedSource(uri))
        return sources[-1]

    speed = 0.0 if mode == "parked" else 54.0
    pipeline = build_pipeline(config, source=uri, db_path=os.path.join(folder, f"{mode}{round_no}.db"),
                              recordings=os.path.join(folder, f"video-{mode}{round_no}"),
                              status_stream=None, open_source=opener,
                              speed_kmh=lambda: speed, still=lambda: mode == "parked")
    pipeline.start()
    try:
        ready = threading.Event()
        ready.wait(settle)
        if mode == "parked" and not pipeline.parts.parking.worker.parked:
            raise SystemExit("parking mode did not begin")
        cpu0, drawn0, frames0, inferred0 = (cpu_s(), sources[-1].drawing_s,
                                            pipeline.capture.frames, pipeline.inference.processed)
        started = time.monotonic()
        ready.wait(seconds)
        wall = time.monotonic() - started
        cpu, drawn = cpu_s() - cpu0, sources[-1].drawing_s - drawn0
        frames, inferred = (pipeline.capture.frames - frames0,
                            pipeline.inference.processed - inferred0)
    finally:
        pipeline.stop()
    return {"mode": mode, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
            "drawing_s": round(drawn, 2), "cpu_share": round(cpu / wall, 3),
            "frames_recorded_per_s": round(frames / wall, 2),
            "inferred_per_s": round(inferred / wall, 2)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--settle", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--fps", type=float, default=30.0)
    args = parser.parse_args(argv)
    width, height = args.size.split("x")
    uri = f"synthetic://?seed=7&width={width}&height={height}&fps={args.fps:g}&scenario=follow"
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for round_no in range(args.rounds):
            for mode in ("driving", "parked"):
                results.append(measure(mode, uri, args.seconds, args.settle, folder, round_no))
                print(json.dumps(results[-1]), flush=True)
    total = {m: [r for r in results if r["mode"] == m] for m in ("driving", "parked")}
    cpu = {m: sum(r["cpu_s"] for r in rs) for m, rs in total.items()}
    bare = {m: sum(r["cpu_s"] - r["drawing_s"] for r in rs) for m, rs in total.items()}
    print(json.dumps({"parked_over_driving": round(cpu["parked"] / cpu["driving"], 3),
                      "parked_over_driving_without_drawing": round(
                          bare["parked"] / bare["driving"], 3),
                      "load_1min": round(os.getloadavg()[0], 2), "source": uri}))


if __name__ == "__main__":
    main()
