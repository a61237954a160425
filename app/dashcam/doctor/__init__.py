"""``dashcam doctor``: checks and explains what this machine has of what the dashcam needs."""

from dashcam import paths
from dashcam.board import read_board
from dashcam.doctor.checks import CHECKS, FAIL, OK, WARN, Check, Context, l4t_release
from dashcam.doctor.fleet import check_fleet
from dashcam.doctor.host import Host
from dashcam.service.install import USER

__all__ = ("Check", "FAIL", "Host", "OK", "WARN", "diagnose", "line")


def diagnose(config, db_path=None, recordings=None, host=None, board=None):
    """Every check's verdict (``Check``) on ``host`` (this machine by default), in order.

    The store and the recordings folder are found by ``paths.data_paths``; ``board``
    (a ``dashcam.board.Board``, this machine's when None) says which Jetson, if any.
    """
    host = host or Host()
    db_path, recordings = paths.data_paths(config, db_path, recordings)
    board = board or read_board()
    jetson = board.name if board.is_jetson else None
    gpu = bool(jetson) or host.exists("/dev/nvidia0") or host.exists("/proc/driver/nvidia/version")
    ctx = Context(config, db_path, recordings, jetson, l4t_release(host) if jetson else None, gpu,
                  USER if host.user_exists(USER) else None)
    return [check(host, ctx) for check in CHECKS + (check_fleet,)]


def line(check):
    """One line for a terminal: status, name, what was found and, if not ok, the fix."""
    text = f"{check.status:<5} {check.name:<12} {check.detail}"
    return text + ("; fix: " + check.fix if check.fix else "")
