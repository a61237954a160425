"""Where the application finds its bundled model and keeps its data when the configuration does not say.

``$DASHCAM_DATA`` if set, else ``$XDG_DATA_HOME/dashcam``, else
``~/.local/share/dashcam`` (the XDG default): a per-user folder that exists on
every Linux, so the demo runs without root and without configuration. The
systemd service sets ``DASHCAM_DATA`` (or ``[store] path``) to a real disk.
"""

import os
import sys

DB_NAME = "dashcam.db"
STANDIN_NAME = os.path.join("standin", "dashcamnet_standin.onnx")


def data_dir(environ=None):
    environ = os.environ if environ is None else environ
    if environ.get("DASHCAM_DATA"):
        return os.path.expanduser(environ["DASHCAM_DATA"])
    base = environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "dashcam")


def default_db_path(environ=None):
    return os.path.join(data_dir(environ), DB_NAME)


def bundled_path(*parts):
    """A file shipped with the app (``engines/...``, ``systemd/...``): in the source tree,
    or installed under share/dashcam; the source tree's path when neither exists."""
    package = os.path.dirname(os.path.abspath(__file__))          # app/dashcam
    source_root = os.path.dirname(os.path.dirname(package))       # the checkout
    candidates = [
        os.path.join(source_root, *parts),
        os.path.join(sys.prefix, "share", "dashcam", *parts),
    ]
    for path in candidates:
        if os.path.isfile(path):
            return path
    return candidates[0]


def default_model_path():
    """The bundled stand-in model: in the source tree, or installed under share/."""
    return bundled_path("engines", STANDIN_NAME)
