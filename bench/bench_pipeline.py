"""Pipeline efficiency and added latency of ``dashcam run``, on one model, in one process.

1. raw backend fps: ``Detector.backend.infer(blob)`` alone, back to back, on a
   preprocessed 1080p frame (measured before and after the runs; the mean is used),
   and the median time of one call (the model's latency in docs/figures.md).
2. efficiency: the pipeline on ``synthetic://?realtime=0`` (every frame processed,
   as fast as possible) for ``--seconds``: frames processed per second / raw fps.
   Target >= 0.90.
3. added latency: the pipeline on a paced synthetic source at ``--latency-fps``
   (below capacity, as a camera would be): frame capture -> detections committed,
   minus the detector's own time (preprocess + infer + postprocess); p50 target <= 5 ms.
4. recording: runs 1 and 2 are made with recording off; the full-speed run is
   made again with recording on (libx264 on every frame), and the fps of both
   are given (``bench/bench_recording.py`` has the paced 1080p30 comparison).

Everything runs on the real parts: synthetic 1920x1080 frames, ONNX Runtime, the
tracker, a SQLite store with synchronous=FULL in a temporary folder.

    PYTHONPATH=app python bench/bench_pipeline.py [--model engines/standin/dashcamnet_standin.onnx]
"""

import argparse
import json
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "app"))

from dashcam.config import load_config  # noqa: E402
from dashcam.inference import build_detector  # noqa: E402
from dashcam.paths import default_model_path  # noqa: E402
from dashcam.runtime import build_pipeline  # noqa: E402
from dashcam.synthetic import SyntheticWorld  # noqa: E402


def raw_backend(config, model, seconds):
    """(calls per second, median seconds per call) of the backend alone."""
    detector = build_detector(config, model)
    try:
        image, _ = SyntheticWorld(seed=7).frame(0)
        blob = detector.preprocessor(image).copy()
        for _ in range(3):
            detector.backend.infer(blob)
        times, started = [], time.perf_counter()
        while time.perf_counter() - started < seconds:
            call = time.perf_counter()
            detector.backend.infer(blob)
            times.append(time.perf_counter() - call)
        return len(times) / (time.perf_counter() - started), sorted(times)[len(times) // 2]
    finally:
        detector.close()


def pipeline_run(config, model, uri, seconds, folder, name, recording=False):
    config.recording.enabled = recording
    pipeline = build_pipeline(config, source=uri, db_path=os.path.join(folder, name + ".db"),
                              model_path=model, status_stream=None)
    return pipeline.run(duration=seconds)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="ONNX model (default: the bundled stand-in)")
    parser.add_argument("--config", help="dashcam INI (e.g. to set ONNX Runtime threads)")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each pipeline run")
    parser.add_argument("--raw-seconds", type=float, default=5.0, help="length of each raw run")
    parser.add_argument("--latency-fps", type=float, default=0.0,
                        help="paced source rate for the latency run (default: half of capacity, "
                             "at most 30)")
    args = parser.parse_args()
    model = args.model or default_model_path()
    config = load_config(args.config)
    folder = tempfile.mkdtemp(prefix="bench_pipeline_")

    raw_before, p50_before = raw_backend(config, model, args.raw_seconds)
    full = pipeline_run(config, model, "synthetic://?seed=7&realtime=0", args.seconds, folder, "full")
    raw_after, p50_after = raw_backend(config, model, args.raw_seconds)
    raw = (raw_before + raw_after) / 2.0
    latency_fps = args.latency_fps or min(30.0, round(full["fps_processed"] / 2.0, 1))
    paced = pipeline_run(config, model, f"synthetic://?seed=7&fps={latency_fps:g}",
                         args.seconds, folder, "paced")
    result = {
        "model": model, "cpu_count": os.cpu_count(),
        "raw_backend_fps": {"before": round(raw_before, 2), "after": round(raw_after, 2),
                            "mean": round(raw, 2)},
        "raw_backend_p50_ms": {"before": round(1000 * p50_before, 2),
                               "after": round(1000 * p50_after, 2)},
        "full_speed": {k: full[k] for k in (
            "frames_processed", "fps_processed", "frames_dropped", "preprocess_p50_ms",
            "infer_p50_ms", "postprocess_p50_ms", "tracking_p50_ms", "latency_p50_ms",
            "added_latency_p50_ms")},
        "efficiency": round(full["fps_processed"] / raw, 3),
        "paced": {"source_fps": latency_fps},
    }
    recorded = pipeline_run(config, model, "synthetic://?seed=7&realtime=0", args.seconds, folder,
                            "recorded", recording=True)
    result["full_speed_recording"] = {
        "fps_processed": recorded["fps_processed"], "without_recording": full["fps_processed"],
        "recorder": {k: recorded["recording"][k] for k in ("frames", "dropped", "segments")}}
    result["paced"].update((k, paced[k]) for k in (
        "frames_in", "frames_processed", "frames_dropped", "infer_p50_ms", "latency_p50_ms",
        "latency_p95_ms", "added_latency_p50_ms", "added_latency_p95_ms", "commits"))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
