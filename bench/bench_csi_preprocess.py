"""CPU time per frame on the CSI path: full-resolution frames into Python (before) against frames
the VIC has scaled to the network's input (now), on equivalent software pipelines.

On a Jetson, nvvidconv (the VIC) turns the camera's NV12 into BGRx without the CPU; what
the CPU pays is after it. The pipelines here start where the VIC's output would be
(``videotestsrc`` rendered once, repeated by ``imagefreeze``, so drawing costs nothing)
and end in an ``appsink`` that Python pulls from and copies, as OpenCV does, then
preprocesses (``inference.Preprocessor``, DashCamNet's 960x544):

  A  before: BGRx 1920x1080 -> videoconvert -> BGR -> appsink -> resize + planes
  B  the brief's: BGRx 1920x1080 -> videoscale -> BGRx 960x544 -> appsink -> 4-channel planes
     (videoscale runs on the CPU here; on a Jetson the VIC does it)
  V  BGRx 960x544 (the VIC's output) -> appsink -> 4-channel planes (needs OpenCV 4.10+ or
     PyGObject for the appsink: JetPack's OpenCV takes BGR only)
  C  now: BGRx 960x544 -> videoconvert -> BGR -> appsink -> planes (what the CSI string does)

Rounds interleave A, B, V, C; each reports CPU ms a frame (``time.process_time``, all
threads of the process, GStreamer's included) and wall ms a frame, as medians.

    PYTHONPATH=app python bench/bench_csi_preprocess.py [--frames 150] [--rounds 5]
"""

import argparse
import os
import statistics
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "app"))
sys.path.insert(0, os.path.join(ROOT, "tests"))

from dashcam.inference.preprocess import Preprocessor  # noqa: E402
from gst_env import import_gst  # noqa: E402

SOURCE = ("videotestsrc num-buffers=1 pattern=smpte ! video/x-raw, format=BGRx, width={w}, "
          "height={h}, framerate=30/1 ! imagefreeze num-buffers={n} ! ")
SINK = "appsink name=sink sync=false max-buffers=2"
PIPELINES = {
    "A": (SOURCE.format(w=1920, h=1080, n="{n}") + "videoconvert ! video/x-raw, format=BGR ! "
          + SINK, (1080, 1920, 3)),
    "B": (SOURCE.format(w=1920, h=1080, n="{n}") + "videoscale ! video/x-raw, width=960, "
          "height=544 ! " + SINK, (544, 960, 4)),
    "V": (SOURCE.format(w=960, h=544, n="{n}") + SINK, (544, 960, 4)),
    "C": (SOURCE.format(w=960, h=544, n="{n}") + "videoconvert ! video/x-raw, format=BGR ! "
          + SINK, (544, 960, 3)),
}


def measure(Gst, text, shape, frames, preprocessor):
    """(CPU ms, wall ms) a frame over ``frames`` frames pulled, copied and preprocessed."""
    pipeline = Gst.parse_launch(text.format(n=frames))
    sink = pipeline.get_by_name("sink")
    pipeline.set_state(Gst.State.PLAYING)
    cpu, wall, done = time.process_time(), time.perf_counter(), 0
    try:
        while True:
            sample = sink.emit("pull-sample")
            if sample is None:
                break
            buffer = sample.get_buffer()
            ok, info = buffer.map(Gst.MapFlags.READ)
            image = np.frombuffer(info.data, np.uint8).reshape(shape).copy()   # OpenCV copies too
            buffer.unmap(info)
            preprocessor(image, (1920, 1080))
            done += 1
    finally:
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        pipeline.set_state(Gst.State.NULL)
    if done != frames:
        raise SystemExit(f"pulled {done} of {frames} frames from: {text}")
    return 1000 * cpu / done, 1000 * wall / done


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    Gst = import_gst()
    if Gst is None:
        raise SystemExit("needs PyGObject with GStreamer (apt install python3-gi)")
    preprocessor = Preprocessor(544, 960)
    results = {name: [] for name in PIPELINES}
    for _ in range(args.rounds):
        for name, (text, shape) in PIPELINES.items():
            results[name].append(measure(Gst, text, shape, args.frames, preprocessor))
    with open("/proc/loadavg") as handle:
        load = " ".join(handle.read().split()[:3])
    print(f"{args.rounds} rounds of {args.frames} frames, interleaved; load average {load}; "
          f"{os.cpu_count()} cores")
    for name in PIPELINES:
        cpu = statistics.median(r[0] for r in results[name])
        wall = statistics.median(r[1] for r in results[name])
        print(f"  {name}: CPU {cpu:6.2f} ms/frame   wall {wall:6.2f} ms/frame")


if __name__ == "__main__":
    main()
