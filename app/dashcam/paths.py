"""Where the application finds its bundled model and keeps its data: the one place that says.

``data_paths`` finds the store and the recordings folder for every command
and for ``dashcam run``'s pipeline: the command line's ``--db`` /
``--recordings``, else the configuration's ``[store] path`` / ``[recording]
path``, else ``dashcam.db`` in the data folder and ``recordings/`` beside
the store. The data folder is ``$DASHCAM_DATA`` if set, else
``$XDG_DATA_HOME/dashcam``, else ``~/.local/share/dashcam`` (the XDG
default): a per-user folder that exists on every Linux, so the demo runs
without root and without configuration. The systemd service sets ``[store]
path`` to a real disk.
"""

import os
import sys
from collections import namedtuple

from dashcam.errors import RecordingError, StoreError

DB_NAME = "dashcam.db"
RECORDINGS_NAME = "recordings"
STANDIN_NAME = os.path.join("standin", "dashcamnet_standin.onnx")

DataPaths = namedtuple("DataPaths", "db recordings")


def data_dir(environ=None):
    environ = os.environ if environ is None else environ
    if environ.get("DASHCAM_DATA"):
        return os.path.expanduser(environ["DASHCAM_DATA"])
    base = environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "dashcam")


def default_db_path(environ=None):
    return os.path.join(data_dir(environ), DB_NAME)


def recordings_beside(db):
    """The recordings folder when nothing names one: ``recordings/`` beside the store ``db``."""
    return os.path.join(os.path.dirname(os.path.abspath(db)), RECORDINGS_NAME)


def data_paths(config, db=None, recordings=None, environ=None):
    """``DataPaths(db, recordings)``: the store file and the recordings folder.

    ``db`` (``--db``) wins, else ``[store] path``, else ``dashcam.db`` in
    ``data_dir(environ)``; ``recordings`` (``--recordings``) wins, else
    ``[recording] path``, else ``recordings/`` beside the store. Paths from
    the configuration are relative to its file (``config.path``); ``config``
    is a ``dashcam.config.Config``, taken and not imported (this module is
    the ground floor). A store path that is a folder (``StoreError``) or a
    recordings path that is a file (``RecordingError``) is refused, naming
    where it came from; what does not exist yet is not checked here (``run``
    creates it, the readers say there is no store).
    """
    db_from = "--db" if db else "[store] path" if config.store.path else "the default store"
    db = db or config.path(config.store.path) or default_db_path(environ)
    if os.path.isdir(db):
        raise StoreError("{} {} is a folder: give the store's file path (such as {})".format(
            db_from, db, os.path.join(db, DB_NAME)))
    folder_from = ("--recordings" if recordings else "[recording] path"
                   if config.recording.path else "the recordings folder beside the store")
    recordings = recordings or config.path(config.recording.path) or recordings_beside(db)
    if os.path.exists(recordings) and not os.path.isdir(recordings):
        raise RecordingError("{} {} is a file: give a folder for the recordings (it is created "
                             "when missing)".format(folder_from, recordings))
    return DataPaths(db, recordings)


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
