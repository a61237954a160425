"""``dashcam synth``: render synthetic road frames with KITTI labels."""

import argparse

from dashcam.cli.progress import terminal_progress
from dashcam.errors import DashcamError
from dashcam.synthetic import SyntheticWorld
from dashcam.synthetic.dataset import FORMATS, write_dataset

EXAMPLE = """example: dashcam synth --frames 300 --seed 1000 --out data/val --width 960 --height 544

writes data/val/images/000000.png .. 000299.png and data/val/labels/000000.txt ..
(KITTI: type truncated occluded alpha x1 y1 x2 y2 h w l x y z rotation_y),
ready for `dashcam evaluate --images data/val/images --labels data/val/labels`.
"""


def _count(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def register(subparsers):
    parser = subparsers.add_parser(
        "synth", help="render synthetic road frames with KITTI ground truth",
        description="Render frames of the synthetic road world (the synthetic:// camera) "
                    "and write them as images plus KITTI label files.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=_count, required=True, help="number of frames to write")
    parser.add_argument("--seed", type=int, default=0, help="world seed (default 0)")
    parser.add_argument("--out", required=True, help="output directory (created if missing)")
    parser.add_argument("--width", type=int, default=1920, help="frame width in pixels (default 1920)")
    parser.add_argument("--height", type=int, default=1080, help="frame height in pixels (default 1080)")
    parser.add_argument("--fps", type=float, default=30.0, help="frames per second of world time (default 30)")
    parser.add_argument("--start", type=int, default=0, help="first frame index (default 0)")
    parser.add_argument("--step", type=_count, default=1,
                        help="write every STEP-th frame, to spread the frames over many scenes (default 1)")
    parser.add_argument("--format", choices=FORMATS, default="png", help="image format (default png)")
    parser.set_defaults(func=run)


def run(args):
    if args.start < 0:
        raise DashcamError(f"--start must be >= 0, got {args.start}")
    # Through the URI so that bad sizes, seeds and rates get the camera source's messages.
    world = SyntheticWorld.from_uri("synthetic://?seed={}&fps={}&width={}&height={}".format(
        args.seed, args.fps, args.width, args.height))
    with terminal_progress() as show:
        summary = write_dataset(world, args.out, args.frames, args.start, args.format, args.step,
                                progress=show)
    per_class = " ".join(f"{k}={v}" for k, v in summary["objects"].items())
    print("synth: {} frames ({}x{}, seed {}) to {} in {:.1f} s: {}".format(
        summary["frames"], args.width, args.height, args.seed, args.out, summary["seconds"], per_class))
    return 0
