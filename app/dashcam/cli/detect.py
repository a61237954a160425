"""``dashcam detect``: run the detector on still images."""

import argparse
import json
import os
import sys

import cv2

from dashcam.cli.options import add_model_options
from dashcam.config import load_config
from dashcam.draw import draw_detections
from dashcam.errors import DashcamError, SourceError
from dashcam.inference import build_detector
from dashcam.inference.engine.frames import IMAGE_EXTENSIONS


def register(subparsers):
    parser = subparsers.add_parser(
        "detect", help="detect objects in images",
        description="Detect cars, bicycles, persons and road signs in still images. An image "
                    "that cannot be read is reported on stderr, the others are still done, "
                    "and the exit status is 1.",
        epilog="example: dashcam detect road.jpg --json --draw road_boxes.jpg",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="image files (any size, any OpenCV format)")
    add_model_options(parser)
    parser.add_argument("--json", action="store_true",
                        help="print JSON: an array per image (an object by path for several images)")
    parser.add_argument("--draw", metavar="OUT",
                        help="write the image with boxes drawn to OUT (a directory for several "
                             "images); OUT ends in one of " + ", ".join(IMAGE_EXTENSIONS))
    parser.set_defaults(func=detect)


def read_image(path):
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        reason = "no such file" if not os.path.exists(path) else "not an image OpenCV can read"
        raise SourceError(f"cannot read image {path}: {reason}")
    return image


def draw_path(out, image_path, several):
    """Where the drawing of ``image_path`` goes; the extension decides the format."""
    target = os.path.join(out, os.path.basename(image_path)) if several else out
    if os.path.splitext(target)[1].lower() not in IMAGE_EXTENSIONS:
        raise DashcamError("--draw {}: cannot write that kind of image; end the name in one of "
                           "{}".format(target, ", ".join(IMAGE_EXTENSIONS)))
    return target


def detect(args, out=None, err=None):
    out, err = out or sys.stdout, err or sys.stderr
    several = len(args.images) > 1
    if args.draw:
        for path in args.images:
            draw_path(args.draw, path, several)   # a bad name fails before any work
        if several and not os.path.isdir(args.draw):
            os.makedirs(args.draw)
    config = load_config(args.config, args.nvinfer_config)
    detector = build_detector(config, args.model)
    results, failed = [], 0
    try:
        for path in args.images:
            try:
                image = read_image(path)
            except SourceError as error:
                err.write(f"dashcam detect: error: {error}\n")
                failed += 1
                continue
            detections = detector.detect(image)
            results.append((path, detections))
            if args.draw:
                target = draw_path(args.draw, path, several)
                if not cv2.imwrite(target, draw_detections(image, detections)):
                    raise SourceError("cannot write {}: check the folder exists and is "
                                      "writable".format(target))
            if not args.json:
                _print_text(out, path, detections)
    finally:
        detector.close()
    if args.json and results:
        arrays = [(path, [d.as_dict() for d in dets]) for path, dets in results]
        payload = dict(arrays) if several else arrays[0][1]
        out.write(json.dumps(payload) + "\n")
    return 1 if failed else 0


def _print_text(out, path, detections):
    out.write(f"{path}: {len(detections)} detection(s)\n")
    for d in detections:
        out.write("  {:<10} {:.2f}  [{:.0f} {:.0f} {:.0f} {:.0f}]\n".format(
            d.label, d.confidence, *d.box))
    out.flush()
