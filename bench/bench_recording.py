"""Recording: what software encoding costs, and a long run checked end to end.

``cost`` (default): libx264 ``ultrafast`` through PyAV on 1920x1080 synthetic
frames, first alone (encoder frames/s and CPU ms a frame, one thread feeding
it as the recorder does), then beside inference: ``dashcam run``'s pipeline
on the paced synthetic road at 1080p30 for ``--seconds``, with recording off
and on, back to back in one process: inference fps, the recorder's frames
and drops, and the process's CPU share (cores busy) in each.

``gil``: how much a thread encoding 1080p at 30 fps slows pure Python in
another thread (the GIL's share: were the encoder to hold it while x264
works, the other thread would lose about that share; a process would then be
the better home for the recorder).

``soak``: ``--seconds`` (60) of ``dashcam run`` on the synthetic road with
recording on; every indexed segment is decoded end to end with PyAV, the
segments' durations are added up against the time recorded, and the frames
the recorder dropped are reported.

    PYTHONPATH=app python bench/bench_recording.py cost [--seconds 20]
    PYTHONPATH=app python bench/bench_recording.py gil
    PYTHONPATH=app python bench/bench_recording.py soak [--seconds 60] [--size 1920x1080]
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

import av  # noqa: E402

from dashcam.config import load_config  # noqa: E402
from dashcam.paths import default_model_path  # noqa: E402
from dashcam.recording.software import SoftwareEncoder  # noqa: E402
from dashcam.records import Frame  # noqa: E402
from dashcam.runtime import build_pipeline  # noqa: E402
from dashcam.store import StoreReader  # noqa: E402
from dashcam.synthetic import SyntheticWorld  # noqa: E402
from dashcam.timestamps import parse_iso  # noqa: E402


def load():
    with open("/proc/loadavg") as handle:
        return handle.read().split()[:3]


def encoder_alone(frames=150):
    """Frames/s and CPU ms a frame of the software encoder on 1080p frames."""
    world = SyntheticWorld(seed=7)
    images = [world.frame(i)[0] for i in range(30)]
    folder = tempfile.mkdtemp(prefix="bench_encoder_")
    encoder = SoftwareEncoder(folder, segment_seconds=5.0)
    encoder.run_id = 1
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(frames):
        encoder.write(Frame(i, images[i % len(images)], i / 30.0, 1.7e9 + i / 30.0))
    encoder.close()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {"frames": frames, "fps": round(frames / wall, 1),
            "cpu_ms_per_frame": round(1000 * cpu / frames, 2),
            "cores_at_30fps": round(cpu / frames * 30, 3)}


def python_rate(seconds):
    """Additions a second in a pure Python loop (it needs the GIL throughout)."""
    count, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        for _ in range(1000):
            count += 1
    return count / seconds


def gil(args):
    world = SyntheticWorld(seed=7)
    images = [world.frame(i)[0] for i in range(10)]
    alone = python_rate(3.0)
    stop, encoded = threading.Event(), []

    def encode():
        encoder = SoftwareEncoder(tempfile.mkdtemp(prefix="bench_gil_"))
        encoder.run_id = 1
        started = time.perf_counter()
        while not stop.is_set():
            i = len(encoded)
            delay = started + i / 30.0 - time.perf_counter()
            if delay > 0:
                stop.wait(delay)
            encoder.write(Frame(i, images[i % 10], i / 30.0, 1.7e9 + i / 30.0))
            encoded.append(i)
        encoder.close()

    thread = threading.Thread(target=encode, name="encoder")
    thread.start()
    beside = python_rate(3.0)
    stop.set()
    thread.join()
    return {"python_rate_alone": round(alone), "python_rate_beside_encoder": round(beside),
            "kept": round(beside / alone, 3), "encoder_fps": round(len(encoded) / 3.0, 1),
            "load": load()}


def run(config, uri, seconds, folder, name, recording):
    config.recording.enabled = recording
    db = os.path.join(folder, name, "dashcam.db")
    pipeline = build_pipeline(config, source=uri, db_path=db, model_path=default_model_path(),
                              status_stream=None)
    cpu = os.times()
    summary = pipeline.run(duration=seconds)
    after = os.times()
    busy = (after.user - cpu.user) + (after.system - cpu.system)
    result = {"fps_processed": summary["fps_processed"], "frames_in": summary["frames_in"],
              "frames_dropped_by_inference": summary["frames_dropped"],
              "cores_busy": round(busy / summary["duration_s"], 2), "load": load()}
    if recording:
        result["recording"] = {k: summary["recording"][k] for k in
                               ("frames", "dropped", "segments", "bytes")}
    return result, db


def cost(args):
    folder = tempfile.mkdtemp(prefix="bench_recording_")
    config = load_config(args.config)
    uri = "synthetic://?seed=7&fps=30"
    result = {"load_before": load(), "encoder_alone_1080p": encoder_alone()}
    result["pipeline_without_recording"], _ = run(config, uri, args.seconds, folder, "off", False)
    result["pipeline_with_recording"], _ = run(config, uri, args.seconds, folder, "on", True)
    off, on = result["pipeline_without_recording"], result["pipeline_with_recording"]
    result["inference_fps_cost"] = round(off["fps_processed"] - on["fps_processed"], 2)
    result["recording_cores"] = round(on["cores_busy"] - off["cores_busy"], 2)
    return result


def soak(args):
    folder = tempfile.mkdtemp(prefix="bench_soak_")
    config = load_config(args.config)
    width, height = (int(v) for v in args.size.split("x"))
    uri = f"synthetic://?seed=7&fps=30&width={width}&height={height}"
    figures, db = run(config, uri, args.seconds, folder, "soak", True)
    recordings = os.path.join(os.path.dirname(db), "recordings")
    with StoreReader(db) as reader:
        rows = list(reader.db.query("SELECT * FROM segments ORDER BY started_at"))
        integrity = reader.integrity_check()
    decoded_ok, frames = 0, 0
    for row in rows:
        with av.open(os.path.join(recordings, row["path"])) as container:
            count = sum(1 for _ in container.decode(video=0))
        decoded_ok += count == row["frames"]
        frames += count
    seconds = sum(parse_iso(r["ended_at"]) - parse_iso(r["started_at"]) for r in rows)
    span = parse_iso(rows[-1]["ended_at"]) - parse_iso(rows[0]["started_at"])
    figures.update({"seconds_asked": args.seconds, "segments": len(rows),
                    "segments_decoding_end_to_end": decoded_ok, "frames_decoded": frames,
                    "segment_seconds_sum": round(seconds, 3), "recorded_span_s": round(span, 3),
                    "difference_s": round(span - seconds, 3), "integrity_check": integrity,
                    "segment_length_s": config.recording.segment_seconds})
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", nargs="?", default="cost", choices=("cost", "gil", "soak"))
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--size", default="1920x1080", help="soak: synthetic frame size")
    parser.add_argument("--config", help="dashcam INI")
    args = parser.parse_args()
    if args.seconds is None:
        args.seconds = 20.0 if args.mode == "cost" else 60.0
    result = {"cost": cost, "gil": gil, "soak": soak}[args.mode](args)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
