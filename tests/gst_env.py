"""PyGObject for the GStreamer tests: Debian's python3-gi, when this Python can load it.

python3-gi is built for Debian's own python3; a virtual environment made from
another interpreter of the same minor version (pyenv's 3.11 here) loads its
extension just as well. Only the ``gi`` package is put on the path (appended,
through a folder holding a link to it), so nothing else of Debian's
dist-packages can shadow the venv's packages.
"""

import os
import re
import subprocess
import sys
import tempfile

DEBIAN_GI = "/usr/lib/python3/dist-packages/gi"


def import_gst():
    """``Gst`` (initialised), or None with no PyGObject for this Python."""
    try:
        import gi  # noqa: F401
    except ImportError:
        if not os.path.isdir(DEBIAN_GI) or not _debian_minor_matches():
            return None
        folder = tempfile.mkdtemp(prefix="debian-gi-")
        os.symlink(DEBIAN_GI, os.path.join(folder, "gi"))
        sys.path.append(folder)
    try:
        import gi
        gi.require_version("Gst", "1.0")
        from gi.repository import Gst
    except (ImportError, ValueError):
        return None
    Gst.init(None)
    return Gst


def _debian_minor_matches():
    try:
        out = subprocess.run(["/usr/bin/python3", "-c", "import sys; print(sys.version_info[:2])"],
                             stdout=subprocess.PIPE, universal_newlines=True).stdout.strip()
    except OSError:
        return False
    return out == str(tuple(sys.version_info[:2]))


# nvvidconv flip-method -> videoflip video-direction (NVIDIA numbers the quarter turns and
# diagonals differently: 1 counterclockwise, 3 clockwise, 5 upper-right diagonal, 6 vertical,
# 7 upper-left diagonal). videoflip's older ``method`` is ignored by GStreamer 1.22 here.
FLIPS = {0: "identity", 1: "90l", 2: "180", 3: "90r", 4: "horiz", 5: "ur-ll", 6: "vert",
         7: "ul-lr"}


def stand_in(pipeline, frames=75, pattern="smpte"):
    """A Jetson capture pipeline string (``capture.csi_pipeline``) with Debian GStreamer's
    elements in place of NVIDIA's: ``videotestsrc`` for the camera (``frames`` buffers),
    ``videoflip`` for nvvidconv's flip, ``videoconvert ! videoscale`` for its conversion,
    system memory for NVMM, ``fakesink`` for the appsink that nobody pulls from here (it
    would hold the end of stream until its buffer is taken). The rest is the string's own."""
    text = re.sub(r"nvarguscamerasrc sensor-id=\d+",
                  f"videotestsrc is-live=true num-buffers={frames} pattern={pattern}", pipeline)
    text = re.sub(r"nvvidconv flip-method=(\d)",
                  lambda m: "videoflip video-direction=" + FLIPS[int(m.group(1))], text)
    text = text.replace("nvvidconv", "videoconvert ! videoscale")
    text = re.sub(r"appsink [^!]*$", "fakesink sync=false", text)
    return text.replace("video/x-raw(memory:NVMM)", "video/x-raw")


def run_pipeline(Gst, text, timeout=60):
    """Parse ``text`` as OpenCV's GStreamer backend does (``gst_parse_launch``), play it to
    its end; the error message, or None."""
    pipeline = Gst.parse_launch(text)
    try:
        pipeline.set_state(Gst.State.PLAYING)
        message = pipeline.get_bus().timed_pop_filtered(
            timeout * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
        if message is None:
            return f"no end of stream within {timeout} s"
        return message.parse_error()[0].message if message.type == Gst.MessageType.ERROR else None
    finally:
        pipeline.set_state(Gst.State.NULL)
