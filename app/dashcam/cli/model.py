"""``dashcam model fetch``: NVIDIA's DashCamNet from NGC, checked and installed for ``run``."""

import argparse
import sys

from dashcam.cli.options import add_command_group, add_config_options
from dashcam.config import load_config
from dashcam.errors import ModelError
from dashcam.inference.fetch import LICENSE, NGC_URL, VERSIONS, fetch

FETCH_DESCRIPTION = """\
Download NVIDIA's DashCamNet, the ONNX release on NGC:
  {url}
check the archive (a zip whose CRCs match, a sane size, one .onnx; its SHA-256 against
--sha256 if you have one) and the model (DashCamNet's tensor contract), unpack it into
[model] engine-dir (default: engines/ in the data folder) and print the line that selects
it. NVIDIA's licence terms are shown first and must be accepted: --accept-license, or a
yes on a terminal. The bundled stand-in model knows only the synthetic road: a real
camera needs this one.
""".format(url=NGC_URL.format("<version>"))

FETCH_EPILOG = """\
examples:
  dashcam model fetch --accept-license
  dashcam model fetch --version pruned_onnx_v1.0.4
  dashcam model fetch --url /media/usb/dashcamnet_pruned_onnx_v1.0.5.zip --accept-license
"""


def register(subparsers):
    commands = add_command_group(subparsers, "model", "get NVIDIA's DashCamNet",
                                 "Model commands (fetch).", "dashcam model fetch --accept-license")
    parser = commands.add_parser(
        "fetch", help="download, check and install DashCamNet from NGC",
        description=FETCH_DESCRIPTION, epilog=FETCH_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", default=VERSIONS[0], choices=VERSIONS,
                        help="the NGC release (default: %(default)s)")
    parser.add_argument("--url", metavar="URL",
                        help="a mirror's URL, or a zip already downloaded (a path or file://)")
    parser.add_argument("--sha256", metavar="HEX", help="the archive's expected SHA-256")
    parser.add_argument("--accept-license", action="store_true",
                        help="accept NVIDIA's licence terms for DashCamNet (shown first)")
    add_config_options(parser)
    parser.set_defaults(func=fetch_command)


def accept_license(accepted, stdin=None, out=None):
    """Show the terms; go on if ``accepted`` or a user on a terminal says yes."""
    stdin, out = stdin or sys.stdin, out or sys.stderr
    out.write(LICENSE + "\n")
    if accepted:
        return
    if not stdin.isatty():
        raise ModelError("NVIDIA's licence terms for DashCamNet (above) are not accepted and "
                         "there is no terminal to ask on: read them, then pass --accept-license")
    out.write("Accept these terms and download DashCamNet? [y/N] ")
    out.flush()
    if stdin.readline().strip().lower() not in ("y", "yes"):
        raise ModelError("licence terms not accepted: nothing was downloaded")


def progress_printer(out):
    """``progress(done, total)``: a line that updates in place on a terminal, else a line at
    each quarter of a known size."""
    shown = set()

    def progress(done, total):
        size = "{:.1f} of {:.1f} MB".format(done / 1e6, total / 1e6) if total else \
            "{:.1f} MB".format(done / 1e6)
        if out.isatty():
            out.write("\r  downloading: " + size)
        elif total and done * 4 // total not in shown:
            shown.add(done * 4 // total)
            out.write("  downloading: {}\n".format(size))
        out.flush()
    return progress


def fetch_command(args):
    from dashcam.inference.engine.resolve import default_engine_dir

    config = load_config(args.config, args.nvinfer_config)
    accept_license(args.accept_license)
    engine_dir = config.path(config.model.engine_dir) or default_engine_dir()
    model, cache, digest = fetch(engine_dir, args.version, args.url, args.sha256,
                                 progress_printer(sys.stderr))
    sys.stderr.write("\n" if sys.stderr.isatty() else "")
    print("DashCamNet {} installed: {}\n  archive SHA-256 {}".format(args.version, model, digest))
    print("use it with `dashcam run --model {}`, or in the configuration:".format(model))
    print("[property]\nonnx-file = {}".format(model))
    if cache:
        print("int8-calib-file = {}".format(cache))
    return 0
