"""Where the application keeps its data when the configuration does not say.

``$DASHCAM_DATA`` if set, else ``$XDG_DATA_HOME/dashcam``, else
``~/.local/share/dashcam`` (the XDG default): a per-user folder that exists on
every Linux, so the demo runs without root and without configuration. The
systemd service sets ``DASHCAM_DATA`` (or ``[store] path``) to a real disk.
"""

import os

DB_NAME = "dashcam.db"


def data_dir(environ=None):
    environ = os.environ if environ is None else environ
    if environ.get("DASHCAM_DATA"):
        return os.path.expanduser(environ["DASHCAM_DATA"])
    base = environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "dashcam")


def default_db_path(environ=None):
    return os.path.join(data_dir(environ), DB_NAME)
