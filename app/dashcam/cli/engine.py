"""``dashcam engine build`` and ``dashcam engine info``: TensorRT engines for this device."""

import argparse
import json
import os
import sys

from dashcam.cli.options import add_command_group, add_config_options, add_onnx_option
from dashcam.config import load_config
from dashcam.errors import EngineError
from dashcam.inference.contract import check_model_file
from dashcam.inference.engine import probe_accelerator, require, settings_from_config
from dashcam.inference.engine.sidecar import read_sidecar
from dashcam.inference.engine.tasks import build_requested
from dashcam.inference.models import model_file

BUILD_DESCRIPTION = """\
Build a TensorRT engine (batch 1) from the ONNX model with this machine's TensorRT, and write
its JSON sidecar (ONNX hash, precision, TensorRT version, GPU or DLA core, device model).
Precision auto: FP16 on a Jetson Nano, INT8 on Xavier and Orin when a calibration cache is
given (else FP16). [property] keys network-mode, int8-calib-file, enable-dla, use-dla-core,
workspace-size and model-engine-file (DeepStream's, e.g. from --nvinfer-config) are the
defaults; the flags win. Needs TensorRT and an NVIDIA GPU: on other machines it exits 2.
dashcam run builds the same engine by itself when none matches.
"""

BUILD_EPILOG = """\
examples:
  dashcam engine build --precision fp16
  dashcam engine build --nvinfer-config config_infer_primary_dashcamnet.txt
  dashcam engine build --precision int8 --calib-cache calib/dashcamnet_int8.txt --dla-core 0
  dashcam engine build --precision int8 --calib-images ~/frames --calib-cache calib/mine.txt
"""


def register(subparsers):
    commands = add_command_group(subparsers, "engine", "build or inspect TensorRT engines",
                                 "TensorRT engine commands (build, info).",
                                 "dashcam engine build --precision fp16")
    build = commands.add_parser(
        "build", help="build a TensorRT engine from the ONNX model", description=BUILD_DESCRIPTION,
        epilog=BUILD_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_onnx_option(build)
    build.add_argument("--precision", choices=("fp16", "int8", "fp32", "auto"),
                       help="default: [property] network-mode, else auto (by device)")
    build.add_argument("--calib-cache", metavar="F",
                       help="INT8 calibration cache to read (TAO's text format); with "
                            "--calib-images, where the new cache is written")
    build.add_argument("--calib-images", metavar="DIR",
                       help="calibrate INT8 on these images (preprocessed as at run time)")
    build.add_argument("--dla-core", metavar="N", type=int, help="build for DLA core N (GPU fallback on)")
    build.add_argument("--workspace", metavar="MB", type=int,
                       help="builder workspace limit in MB (default: [property] workspace-size)")
    build.add_argument("-o", "--output", metavar="OUT",
                       help="engine file (default: [property] model-engine-file, else "
                            "[model] engine-dir/<model>.onnx_b1_gpu0_<precision>.engine)")
    add_config_options(build)
    build.set_defaults(func=build_command)
    info = commands.add_parser(
        "info", help="print an engine's sidecar and tensors",
        description="Print what an engine was built from and for (its sidecar) and, where "
                    "TensorRT is installed, its input and output tensors.",
        epilog="example: dashcam engine info ~/.local/share/dashcam/engines/"
               "dashcamnet_standin.onnx_b1_gpu0_fp16.engine")
    info.add_argument("engine", metavar="ENGINE", help="a .engine file")
    info.set_defaults(func=info_command)


def build_command(args, out=None):
    out = out or sys.stdout
    accelerator = require(probe_accelerator(), "dashcam engine build")
    config = load_config(args.config, args.nvinfer_config)
    onnx = check_model_file(model_file(config, args.onnx))
    settings = settings_from_config(config, onnx, args.precision, args.dla_core, args.workspace,
                                    args.calib_cache, args.output)
    _, _, result, cache = build_requested(accelerator, settings, config.property.net_scale_factor,
                                          args.calib_images, args.output,
                                          say=lambda line: out.write(line + "\n") or out.flush())
    if cache:
        out.write(f"calibrated on {result.calibration_batches} frames; cache {cache}\n")
    return 0


def info_command(args, out=None):
    out = out or sys.stdout
    if not os.path.isfile(args.engine):
        raise EngineError(f"engine file not found: {args.engine}")
    found = read_sidecar(args.engine)
    accelerator = probe_accelerator()
    if found is None and accelerator.missing:
        raise EngineError("{} has no dashcam sidecar and {}: nothing to show".format(
            args.engine, accelerator.missing))
    out.write("sidecar: {}\n".format("none (not built by dashcam)" if found is None else ""))
    for key in sorted(found or {}):
        out.write(f"  {key}: {json.dumps(found[key])}\n")
    if accelerator.missing:
        out.write(f"tensors: not listed ({accelerator.missing})\n")
        return 0
    from dashcam.inference.backends.tensorrt import load_engine

    _, api, tensors = load_engine(accelerator.trt, accelerator.cuda, args.engine)
    out.write(f"tensors (TensorRT {accelerator.version}, {api.io.name}):\n")
    for t in tensors:
        out.write("  {:<6} {} {} {}\n".format("input" if t.is_input else "output", t.name,
                                              list(t.shape), t.dtype))
    return 0
