"""PyGObject for the GStreamer tests: Debian's python3-gi, when this Python can load it.

python3-gi is built for Debian's own python3; a virtual environment made from
another interpreter of the same minor version (pyenv's 3.11 here) loads its
extension just as well. Only the ``gi`` package is put on the path (appended,
through a folder holding a link to it), so nothing else of Debian's
dist-packages can shadow the venv's packages.
"""

import os
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
