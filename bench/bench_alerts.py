"""Driver alerts, measured: the forward-collision warning judged on the scripted scenarios, and the
latency from a frame's capture to its alert's serial line written.

1. judgement: ``synthetic://?scenario=brake`` (the car ahead brakes hard; true TTC known) and
   ``scenario=follow`` (traffic at a constant distance), ``--repetitions`` of each, through
   the stand-in model, the tracker and the shipped rules (``dashcam.alerts.judge``): per
   repetition, the seconds from the first forward-collision warning to the bumpers meeting
   (target >= 1.0 s), warnings on ``follow`` (target 0), and the TTC estimate against the
   true TTC for the approaching car (true TTC up to 10 s): median absolute and signed error;
   and every forward-collision alert of each repetition (seconds before contact, TTC, track).
   Alerts after the bumpers met (the scene then freezes at contact) are not counted.
2. latency: ``dashcam run``'s pipeline on the brake scenario for ``--seconds``, paced at
   ``--fps`` (as a camera; below the machine's capacity, so that a frame does not wait in
   the slot for the inference before it: 10 fps by default), read from an MPEG-4 file of its
   frames written first (a camera's frame costs the CPU little; drawing a synthetic 1080p
   frame costs 12 to 18 ms, which two cores would take from inference: ``--draw`` measures
   on ``synthetic://`` itself), with a bench rule that fires for every car on every frame
   (cooldown 0) so there are many alerts, the serial sink on a real pty pair (its far end
   read by this script); per alert, serial line written minus the frame's capture time,
   minus the detector's own time on that frame (target p95 <= 15 ms), and the total; and
   the alert path alone: from the inference worker handing the frame over to the line written.

    PYTHONPATH=app python bench/bench_alerts.py [--repetitions 3] [--step 1] [--seconds 20] [--fps 10] [--draw]
"""

import argparse
import json
import os
import select
import statistics
import sys
import tempfile

import cv2

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "app"))

from dashcam.alerts.judge import judge  # noqa: E402
from dashcam.alerts.rules import AlertRule  # noqa: E402
from dashcam.config import load_config  # noqa: E402
from dashcam.inference import build_detector  # noqa: E402
from dashcam.metrics import percentile  # noqa: E402
from dashcam.paths import default_model_path  # noqa: E402
from dashcam.runtime import build_pipeline  # noqa: E402
from dashcam.synthetic import SyntheticWorld  # noqa: E402
from dashcam.synthetic.scenarios import PERIOD_S  # noqa: E402
from dashcam.tracking import IouTracker  # noqa: E402
from dashcam.worker import Worker  # noqa: E402

FCW = "forward-collision"


def judgement(model, repetitions, step, seed):
    config = load_config()
    rules = [AlertRule.from_section(n, s) for n, s in config.instances("rule").items()
             if s.enabled]
    detector = build_detector(config, model)
    out = {}
    try:
        for scenario in ("brake", "follow"):
            world = SyntheticWorld(seed=seed, scenario=scenario)
            reps, samples, alerts = judge(world, detector, IouTracker(), rules, repetitions, step)
            errors = [s.estimate_s - s.true_s for s in samples
                      if s.estimate_s is not None and s.true_s <= 10.0]
            collision = reps[0].collision
            out[scenario] = {
                "fcw_per_repetition": [fcw_alerts(alerts, r, collision) for r in range(repetitions)],
                "fcw_margin_s": [None if r.margin(FCW) is None else round(r.margin(FCW), 2)
                                 for r in reps],
                "fcw_before_contact": sum(1 for a in alerts if a.rule == FCW and (
                    collision is None or a.t_mono % PERIOD_S < collision)),
                "ttc_samples": len(errors),
                "ttc_median_abs_error_s": round(statistics.median([abs(e) for e in errors]), 3)
                if errors else None,
                "ttc_median_error_s": round(statistics.median(errors), 3) if errors else None,
            }
    finally:
        detector.close()
    return out


def fcw_alerts(alerts, repetition, collision):
    """Repetition ``repetition``'s forward-collision alerts: seconds before the bumpers meet
    (negative: after; None: they never do), the rule's TTC and the track, oldest first."""
    start = repetition * PERIOD_S
    return [{"before_contact_s": None if collision is None else round(collision - (a.t_mono - start), 2),
             "ttc_s": None if a.ttc is None else round(a.ttc, 2), "track": a.track_id,
             "severity": a.severity}
            for a in alerts if a.rule == FCW and start <= a.t_mono < start + PERIOD_S]


class PtyReader(Worker):
    """Reads the far end of the pty, as a receiver would, so the line never backs up."""

    name = "pty-reader"

    def __init__(self, master):
        Worker.__init__(self)
        self.master, self.lines = master, 0

    def run(self):
        while not self.stopping:
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if ready:
                self.lines += os.read(self.master, 4096).count(b"\n")


def scenario_video(folder, seconds, fps):
    """The brake scenario's frames as an MPEG-4 file (mp4v) at ``fps``."""
    path = os.path.join(folder, "brake.mp4")
    world = SyntheticWorld(seed=1, fps=fps, scenario="brake")
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), fps,
                             (world.width, world.height))
    for index in range(int(seconds * fps) + int(fps)):
        writer.write(world.frame(index)[0])
    writer.release()
    return path


def latency(model, seconds, fps, draw):
    folder = tempfile.mkdtemp(prefix="bench_alerts_")
    source = (f"synthetic://?scenario=brake&seed=1&fps={fps:g}" if draw
              else scenario_video(folder, seconds, fps))
    master, slave = os.openpty()
    port = os.ttyname(slave)
    ini = os.path.join(folder, "bench.ini")
    with open(ini, "w") as handle:
        handle.write("[run]\nstatus-interval = 0\n[serial]\nenabled = true\nport = {}\n"
                     "[rule:bench-every-car]\nlabels = car\ncooldown = 0\n".format(port))
    config = load_config(ini)
    pipeline = build_pipeline(config, source=source,
                              db_path=os.path.join(folder, "bench.db"), model_path=model,
                              status_stream=None)
    records, published = [], {}
    engine = pipeline.alerts.engine
    submit, offer = engine.deliveries.submit, engine.offer
    engine.deliveries.submit = lambda record: (records.append(record), submit(record))
    # when the inference worker handed each frame over: the alert path starts there
    engine.offer = lambda record: (published.__setitem__(record.frame_index, engine.clock()),
                                   offer(record))[1]
    reader = PtyReader(master).start()
    try:
        summary = pipeline.run(duration=seconds)
    finally:
        reader.stop(1.0)
        os.close(slave)
        os.close(master)
    added, total, path = [], [], []
    for record in records:
        serial = next(d for d in record.deliveries if d.sink == "serial")
        if serial.status == "delivered":
            total.append(serial.t_mono - record.alert.t_mono)
            added.append(total[-1] - record.alert.detect_s)
            path.append(serial.t_mono - published[record.alert.frame_index])
    ms = lambda values, q: round(1000.0 * percentile(values, q), 2) if values else None  # noqa: E731
    return {"alerts": len(records), "serial_delivered": len(added), "lines_read": reader.lines,
            "frames_processed": summary["frames_processed"], "fps": summary["fps_processed"],
            "added_p50_ms": ms(added, 50), "added_p95_ms": ms(added, 95),
            "added_max_ms": ms(added, 100), "path_p50_ms": ms(path, 50),
            "path_p95_ms": ms(path, 95), "total_p50_ms": ms(total, 50),
            "total_p95_ms": ms(total, 95), "infer_p50_ms": summary["infer_p50_ms"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="ONNX model (default: the bundled stand-in)")
    parser.add_argument("--repetitions", type=int, default=3, help="repetitions of each scenario")
    parser.add_argument("--step", type=int, default=1, help="judge every STEP-th frame")
    parser.add_argument("--seed", type=int, default=1, help="scenario world seed")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the latency run")
    parser.add_argument("--fps", type=float, default=10.0, help="paced source rate, latency run")
    parser.add_argument("--draw", action="store_true",
                        help="latency run on synthetic:// (drawing each frame) instead of a file")
    parser.add_argument("--skip-judgement", action="store_true")
    parser.add_argument("--skip-latency", action="store_true")
    args = parser.parse_args()
    model = args.model or default_model_path()
    result = {"load_before": open("/proc/loadavg").read().split()[:3]}
    if not args.skip_judgement:
        result["judgement"] = judgement(model, args.repetitions, args.step, args.seed)
        result["judgement"]["fps"] = 30.0 / args.step
    if not args.skip_latency:
        result["latency"] = latency(model, args.seconds, args.fps, args.draw)
    result["load_after"] = open("/proc/loadavg").read().split()[:3]
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
