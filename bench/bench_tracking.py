"""Tracking against the synthetic world's ground truth, with py-motmetrics (MOTA, IDF1, ID switches,
fragmentations per class), for the tracker as it was and as it is.

The stand-in model detects every frame of a few synthetic worlds once (the
detections are cached under ``.benchmarks/``, keyed by model, seed and length,
because they take minutes and the tracker variants take seconds); each tracker
variant then runs over the same detections, so the comparison has no noise.
What is scored is what the alert rules see: detections whose track is
confirmed (``object_appeared`` sent) at that frame. Ground truth: the world's
labelled objects with their track ids (a label and a track id name one
object). DontCare regions and objects under the model card's 10 px are
neither to be found nor false: a hypothesis matching them (IoU > 0.5) is
dropped before scoring. Matches need IoU >= 0.5 (motmetrics distance
``1 - IoU`` at most 0.5).

``before`` is the tracker's parameters as they were (three hits in a row to
confirm, a tentative track dies on its first miss, no motion, one IoU
threshold), which the current code reproduces exactly.

``--step 2`` gives the tracker every other frame (15 fps, as a slower device
processes them): gaps between frames are where an IoU tracker loses objects.

    PYTHONPATH=app python bench/bench_tracking.py [--seeds 7,4242,5000] [--frames 600] [--step 1] [--json]
"""

import argparse
import hashlib
import json
import os
import pickle
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "app"))

import motmetrics as mm  # noqa: E402

from dashcam.config import load_config  # noqa: E402
from dashcam.evaluation.evaluate import IOU_THRESHOLD, MIN_SIZE_1080, is_counted  # noqa: E402
from dashcam.geometry import pairwise_iou  # noqa: E402
from dashcam.inference import build_detector  # noqa: E402
from dashcam.paths import default_model_path  # noqa: E402
from dashcam.records import LABELS  # noqa: E402
from dashcam.synthetic import SyntheticWorld  # noqa: E402
from dashcam.tracking import IouTracker  # noqa: E402

METRICS = ("mota", "idf1", "num_switches", "num_fragmentations", "num_objects", "num_unique_objects",
           "mostly_tracked", "num_false_positives", "num_misses")
VARIANTS = {
    "before": dict(iou_threshold=0.3, min_hits=3, max_age=1.0, tentative_misses=0, motion=False,
                   confident=0.0, duplicate_iou=1.1),
    "after": {},   # the tracker's defaults
}


def detections_of(model, seed, frames, fps, width, height, cache_dir):
    """[(detections, truths)] per frame: the stand-in model on frames 0..frames-1 of world ``seed``."""
    with open(model, "rb") as handle:
        digest = hashlib.sha1(handle.read()).hexdigest()[:12]
    path = os.path.join(cache_dir, "tracking_{}_{}_{}_{:g}_{}x{}.pkl".format(
        digest, seed, frames, fps, width, height))
    if os.path.isfile(path):
        with open(path, "rb") as handle:
            return pickle.load(handle)
    world = SyntheticWorld(seed=seed, width=width, height=height, fps=fps)
    detector = build_detector(load_config(), model)
    try:
        out = [(detector.detect(image), truths) for image, truths in map(world.frame, range(frames))]
    finally:
        detector.close()
    if not os.path.isdir(cache_dir):
        os.makedirs(cache_dir)
    with open(path, "wb") as handle:
        pickle.dump(out, handle)
    return out


def track(frames, fps, params):
    """Per frame, the (detection, track id) pairs whose track is confirmed; and the tracks' lives."""
    tracker = IouTracker(**params)
    shown, confirmed, lives = [], set(), []
    for index, (detections, _) in enumerate(frames):
        t = index / fps
        update = tracker.update(detections, t, t)
        confirmed.update(tr.track_id for tr in update.confirmed)
        lives.extend(tr.last_seen - tr.first_seen for tr in update.ended)
        shown.append([(d, i) for d, i in zip(detections, update.track_ids) if i in confirmed])
    lives.extend(tr.last_seen - tr.first_seen for tr in tracker.flush())
    return shown, lives


def accumulate(frames, shown, label, min_size):
    """A motmetrics accumulator for one class over one world."""
    acc = mm.MOTAccumulator(auto_id=True)
    for (_, truths), pairs in zip(frames, shown):
        mine = [t for t in truths if t.label == label]
        gts = [t for t in mine if is_counted(t.box, min_size)]
        ignored = [t.box for t in mine if not is_counted(t.box, min_size)]
        ignored += [t.box for t in truths if t.class_id < 0]
        hyps = [(d, i) for d, i in pairs if d.label == label]
        if hyps and ignored:
            gt_iou = pairwise_iou([d.box for d, _ in hyps], [t.box for t in gts]) if gts else None
            excused = (pairwise_iou([d.box for d, _ in hyps], ignored) > IOU_THRESHOLD).any(axis=1)
            if gt_iou is not None:
                excused &= ~(gt_iou >= IOU_THRESHOLD).any(axis=1)   # a real match wins
            hyps = [h for h, drop in zip(hyps, excused) if not drop]
        distances = np.full((len(gts), len(hyps)), np.nan)
        if gts and hyps:
            iou = pairwise_iou([t.box for t in gts], [d.box for d, _ in hyps])
            distances = np.where(iou >= IOU_THRESHOLD, 1.0 - iou, np.nan)
        acc.update([t.track_id for t in gts], [i for _, i in hyps], distances)
    return acc


def figures(worlds, fps, params, height):
    """{class: {metric: value}} over all worlds, plus track counts and mean life."""
    min_size = MIN_SIZE_1080 * height / 1080.0
    accs = {label: [] for label in LABELS}
    lives = []
    for frames in worlds:
        shown, world_lives = track(frames, fps, params)
        lives.extend(world_lives)
        for label in LABELS:
            accs[label].append(accumulate(frames, shown, label, min_size))
    host = mm.metrics.create()
    result = {}
    for label in LABELS:
        summary = host.compute_many(accs[label], metrics=list(METRICS), generate_overall=True)
        row = summary.loc["OVERALL"]
        result[label] = {m: round(float(row[m]), 4) for m in METRICS}
    every = [a for label in LABELS for a in accs[label]]
    row = host.compute_many(every, metrics=list(METRICS), generate_overall=True).loc["OVERALL"]
    result["all"] = {m: round(float(row[m]), 4) for m in METRICS}
    result["all"].update(tracks=len(lives), mean_life_s=round(float(np.mean(lives)), 2) if lives else 0.0)
    return result


def table(name, result):
    lines = [f"{name}:", "  {:<10} {:>6} {:>6} {:>9} {:>6} {:>8} {:>7}".format(
        "class", "MOTA", "IDF1", "switches", "frag", "objects", "MT")]
    for label, row in result.items():
        lines.append("  {:<10} {:>6.3f} {:>6.3f} {:>9d} {:>6d} {:>8d} {:>7d}".format(
            label, row["mota"], row["idf1"], int(row["num_switches"]),
            int(row["num_fragmentations"]), int(row["num_unique_objects"]),
            int(row["mostly_tracked"])))
    lines.append("  tracks {} (confirmed), mean life {} s".format(
        result["all"]["tracks"], result["all"]["mean_life_s"]))
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="ONNX model (default: the bundled stand-in)")
    parser.add_argument("--seeds", default="7,4242,5000", help="synthetic world seeds")
    parser.add_argument("--frames", type=int, default=600, help="frames per world (30 fps)")
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--width", type=int, default=1920)
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--step", type=int, default=1, help="track every STEP-th frame")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    args = parser.parse_args()
    model = args.model or default_model_path()
    cache = os.path.join(ROOT, ".benchmarks")
    started = time.time()
    worlds = [detections_of(model, int(seed), args.frames, args.fps, args.width, args.height,
                            cache)[::args.step] for seed in args.seeds.split(",")]
    detect_s = time.time() - started
    fps = args.fps / args.step
    results = {name: figures(worlds, fps, params, args.height)
                   for name, params in VARIANTS.items()}
    if args.json:
        print(json.dumps({"seeds": args.seeds, "frames": args.frames, "fps": fps,
                          "results": results}, indent=2))
    else:
        print("seeds {}, {} frames each at {:g} fps, tracked at {:g} fps, {}x{} (detections {:.0f} s,"
              " load {})".format(args.seeds, args.frames, args.fps, fps, args.width, args.height,
                                 detect_s,
            open("/proc/loadavg").read().split()[0]))
        for name, result in results.items():
            print(table(name, result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
