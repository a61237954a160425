"""``dashcam evaluate``: the model card's KPIs on a labelled image set."""

import argparse
import json
import sys
from collections import OrderedDict

from dashcam.cli.options import add_model_options
from dashcam.cli.progress import counted, terminal_progress
from dashcam.config import load_config
from dashcam.inference import build_detector
from dashcam.evaluation.evaluate import MIN_SIZE_1080, dataset_pairs, evaluate, format_table, load_dataset


def register(subparsers):
    parser = subparsers.add_parser(
        "evaluate", help="measure precision and recall on labelled images",
        description="Run the detector on images with KITTI labels and report, per class, TP/FP/FN, "
                    "precision, recall, F1 and accuracy = TP/(TP+FP+FN): one-to-one matches at IoU > 0.5, "
                    "greedy by confidence. DontCare regions and objects smaller than --min-size are "
                    "neither missed nor false. Labels are matched by file stem (000001.png <-> 000001.txt); "
                    "class names are case-insensitive, with aliases (pedestrian, cyclist, roadsign, ...).",
        epilog="example: dashcam synth --frames 300 --seed 4242 --out val && "
               "dashcam evaluate --images val/images --labels val/labels --json",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", required=True, metavar="DIR", help="directory of .png/.jpg images")
    parser.add_argument("--labels", required=True, metavar="DIR", help="directory of KITTI .txt label files")
    add_model_options(parser)
    parser.add_argument("--min-size", type=float, default=MIN_SIZE_1080, metavar="PX",
                        help="objects with height and width under PX pixels at 1080 rows (scaled by image "
                             "height / 1080) are not counted (default: %(default)s, the model card's)")
    parser.add_argument("--json", action="store_true",
                        help='print {"car": {"tp": .., "fp": .., "fn": .., "precision": .., ...}, ...}')
    parser.set_defaults(func=run)


def run(args):
    # A mismatched dataset or a malformed label fails before the model loads.
    pairs = dataset_pairs(args.images, args.labels)
    samples = load_dataset(pairs)
    config = load_config(args.config, args.nvinfer_config)
    detector = build_detector(config, args.model)
    try:
        with terminal_progress() as show:
            totals = evaluate(counted(samples, len(pairs), show, "images"), detector.detect,
                              args.min_size)
    finally:
        detector.close()
    if args.json:
        payload = OrderedDict((name, counts.as_dict()) for name, counts in totals.items())
        sys.stdout.write(json.dumps(payload) + "\n")
    else:
        sys.stdout.write(f"{len(pairs)} images\n{format_table(totals)}\n")
    return 0
