"""``dashcam calibrate``: an INT8 calibration cache made on the user's own roads."""

import argparse
import sys

from dashcam.cli.options import (add_config_options, add_data_options, add_onnx_option,
                                  command_config, command_paths)
from dashcam.inference.contract import check_model_file
from dashcam.inference.engine import probe_accelerator, require, settings_from_config
from dashcam.inference.engine.frames import calibration_frames
from dashcam.inference.engine.tasks import calibrate
from dashcam.inference.models import model_file

DEFAULT_FRAMES = 300

DESCRIPTION = """\
Run TensorRT's INT8 entropy calibration (IInt8EntropyCalibrator2) on frames from your own
footage, preprocessed exactly as dashcam run preprocesses them, and write the cache in
TensorRT's and TAO's text format (as NVIDIA's dashcamnet_int8.txt). Then point
[property] int8-calib-file at it, or pass it to dashcam engine build --calib-cache.

Frames come from one of: a folder of images (--images), a video file (--video), or the
recordings folder (--from-recordings N: N frames spread over every video file in it, MPEG-TS
segments as the recorder writes them or any other video files OpenCV reads; today any folder
of videos works). Needs TensorRT and an NVIDIA GPU: on other machines it exits 2.
"""

EPILOG = """\
examples:
  dashcam calibrate --from-recordings 500 -o calib/my_roads.txt
  dashcam calibrate --video drive.mp4 --frames 300 -o calib/my_roads.txt
  dashcam calibrate --images ~/frames -o calib/my_roads.txt --nvinfer-config config_infer.txt
"""


def register(subparsers):
    parser = subparsers.add_parser(
        "calibrate", help="make an INT8 calibration cache from your own footage",
        description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--images", metavar="DIR", help="a folder of images (searched recursively)")
    source.add_argument("--video", metavar="FILE", help="a video file")
    source.add_argument("--from-recordings", metavar="N", type=int,
                        help="N frames spread over the video files in the recordings folder")
    parser.add_argument("--frames", metavar="N", type=int, default=DEFAULT_FRAMES,
                        help="frames to use from --images or --video (default: %(default)s)")
    parser.add_argument("-o", "--output", metavar="FILE", required=True,
                        help="the calibration cache to write, e.g. calib/NAME.txt")
    add_onnx_option(parser)
    add_config_options(parser)
    add_data_options(parser, config=None)
    parser.set_defaults(func=run_calibrate)


def run_calibrate(args, out=None):
    out = out or sys.stdout
    config = command_config(args)
    recordings = None
    count = args.frames
    if args.from_recordings is not None:
        recordings, count = command_paths(args, config).recordings, args.from_recordings
    accelerator = require(probe_accelerator(), "dashcam calibrate")
    onnx = check_model_file(model_file(config, args.onnx))
    where, frames = calibration_frames(count, images=args.images, video=args.video,
                                       recordings=recordings)
    out.write(f"calibrating on {where}\n")
    used, tensors = calibrate(accelerator, settings_from_config(config, onnx),
                              config.property.net_scale_factor, frames, args.output,
                              say=lambda line: out.write(line + "\n") or out.flush())
    out.write(f"wrote {args.output}: {tensors} tensors, from {used} frames\n")
    return 0
