"""``dashcam doctor``: checks and explains what this machine has of what the dashcam needs."""

from dashcam.doctor.checks import CHECKS, FAIL, OK, WARN, Check, Context, l4t_release
from dashcam.doctor.host import Host
from dashcam.paths import default_db_path
from dashcam.recording import recordings_dir
from dashcam.service.install import USER, jetson_model

__all__ = ("Check", "FAIL", "Host", "OK", "WARN", "diagnose", "line")


def diagnose(config, db_path=None, recordings=None, host=None):
    """Every check's verdict (``Check``) on ``host`` (this machine by default), in order."""
    host = host or Host()
    db_path = db_path or config.path(config.store.path) or default_db_path()
    recordings = recordings or recordings_dir(config, db_path)
    model = host.read("/proc/device-tree/model")
    jetson = jetson_model(model) if model else None
    gpu = bool(jetson) or host.exists("/dev/nvidia0") or host.exists("/proc/driver/nvidia/version")
    ctx = Context(config, db_path, recordings, jetson, l4t_release(host) if jetson else None, gpu,
                  USER if host.user_exists(USER) else None)
    return [check(host, ctx) for check in CHECKS]


def line(check):
    """One line for a terminal: status, name, what was found and, if not ok, the fix."""
    text = f"{check.status:<5} {check.name:<12} {check.detail}"
    return text + ("; fix: " + check.fix if check.fix else "")
