"""``dashcam detect``: run the detector on still images."""

import argparse
import json
import os
import sys

import cv2

from dashcam.cli.options import add_model_options
from dashcam.config import load_config
from dashcam.detector import build_detector
from dashcam.draw import draw_detections
from dashcam.errors import SourceError


def register(subparsers):
    parser = subparsers.add_parser(
        "detect", help="detect objects in images",
        description="Detect cars, bicycles, persons and road signs in still images.",
        epilog="example: dashcam detect road.jpg --json --draw road_boxes.jpg",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="image files (any size, any OpenCV format)")
    add_model_options(parser)
    parser.add_argument("--json", action="store_true",
                        help="print JSON: an array per image (an object by path for several images)")
    parser.add_argument("--draw", metavar="OUT",
                        help="write the image with boxes drawn to OUT (a directory for several images)")
    parser.set_defaults(func=detect)


def read_image(path):
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        reason = "no such file" if not os.path.exists(path) else "not an image OpenCV can read"
        raise SourceError("cannot read image {}: {}".format(path, reason))
    return image


def draw_path(out, image_path, several):
    if not several:
        return out
    if not os.path.isdir(out):
        os.makedirs(out)
    return os.path.join(out, os.path.basename(image_path))


def detect(args):
    config = load_config(args.config, args.nvinfer_config)
    images = [(path, read_image(path)) for path in args.images]  # all readable before any work
    detector = build_detector(config, args.model)
    results = []
    try:
        for path, image in images:
            detections = detector.detect(image)
            results.append((path, detections))
            if args.draw:
                target = draw_path(args.draw, path, len(images) > 1)
                if not cv2.imwrite(target, draw_detections(image, detections)):
                    raise SourceError("cannot write {}: check the directory and the extension".format(target))
    finally:
        detector.close()
    if args.json:
        arrays = [(path, [d.as_dict() for d in dets]) for path, dets in results]
        payload = arrays[0][1] if len(arrays) == 1 else dict(arrays)
        sys.stdout.write(json.dumps(payload) + "\n")
    else:
        for path, dets in results:
            sys.stdout.write("{}: {} detection(s)\n".format(path, len(dets)))
            for d in dets:
                sys.stdout.write("  {:<10} {:.2f}  [{:.0f} {:.0f} {:.0f} {:.0f}]\n".format(
                    d.label, d.confidence, *d.box))
    return 0
