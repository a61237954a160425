"""``dashcam service install|uninstall|status``: the service's files in place under a root.

``install`` puts, under ROOT (``/`` on the device; a staging folder in tests):
the two units (``ExecStart`` pointing at this installation's ``dashcam``),
drop-ins where this installation needs them, the user (a systemd-sysusers
file, applied), the default configuration, the data folders, and the udev
rules (USB export; GPIO for the gpio group, as Jetson.GPIO asks). Each step is
idempotent: a file that is already right is left alone, and the configuration,
which the user edits, is never overwritten. ``uninstall`` removes what
install put there, except the configuration, the data and the user.
"""

import glob
import os
import shutil
import subprocess
import sys
import tempfile

from dashcam.board import read_board
from dashcam.capture.sources import STREAM_SCHEMES, scheme_of
from dashcam.config import load_config
from dashcam.config.upload import mqtt_url
from dashcam.errors import DashcamError
from dashcam.paths import DB_NAME, RECORDINGS_NAME, bundled_path
from dashcam.service import CONTROL_SOCKET, SERVICE_CONFIG

PACKAGED_COMMAND = "/usr/local/bin/dashcam"   # ExecStart in systemd/*.service, replaced here
UNIT = "dashcam.service"
EXPORT_UNIT = "dashcam-export@.service"
USER = "dashcam"
DATA = "/var/lib/dashcam"
# (bundled file in systemd/, where it goes under ROOT)
FILES = (
    (UNIT, "etc/systemd/system/" + UNIT),
    (EXPORT_UNIT, "etc/systemd/system/" + EXPORT_UNIT),
    ("90-dashcam-export.rules", "etc/udev/rules.d/90-dashcam-export.rules"),
    ("60-dashcam-gpio.rules", "etc/udev/rules.d/60-dashcam-gpio.rules"),
    ("dashcam.sysusers", "etc/sysusers.d/dashcam.conf"),
)
FOLDERS = (DATA, os.path.join(DATA, RECORDINGS_NAME))
HOME_DROP_IN = "[Service]\n# dashcam is installed under a home folder: readable, not writable.\n" \
               "ProtectHome=read-only\n"
# Only IP sockets are added (no netlink, no raw packets); the addresses cannot be narrowed
# further: a broker or camera is named by host name, and a presigned URL may point anywhere.
NETWORK_DROP_IN = ("[Service]\n# The camera ([source] uri), the fleet link's broker ([mqtt] url) "
                   "or the clip\n# uploads ([upload] endpoint) are on the network: let them be "
                   "reached.\nPrivateNetwork=no\nRestrictAddressFamilies=AF_UNIX AF_INET AF_INET6\n"
                   "IPAddressDeny=\n")


class ServiceError(DashcamError, OSError):
    """The service cannot be installed or removed here; the message says why and what to do."""


def under(root, path):
    return os.path.join(root, path.lstrip("/"))


def dashcam_command(executable=None):
    """How systemd runs this installation: the ``dashcam`` script beside its Python."""
    executable = executable or sys.executable
    script = os.path.join(os.path.dirname(executable), "dashcam")
    return script if os.path.isfile(script) else executable + " -m dashcam"


def default_source(board, video_devices):
    """The camera the new configuration names: the CSI camera on a Jetson (``board``, a
    ``dashcam.board.Board``), else the first USB camera, else none (the demo road runs until
    one is configured)."""
    if board.is_jetson:
        return "csi://0"
    return "v4l2://" + sorted(video_devices)[0] if video_devices else ""


def default_config(board, video_devices=None):
    """The service's configuration file: every key with its help, set for the service on
    ``board`` (a ``dashcam.board.Board``)."""
    video = glob.glob("/dev/video*") if video_devices is None else video_devices
    settings = [
        "[source]", "uri = " + default_source(board, video),
        "[store]", "path = " + os.path.join(DATA, DB_NAME),
        "[run]", "status-interval = 60",   # the journal gets a line a minute; STATUS= has the rest
        "[service]", "control-socket = " + CONTROL_SOCKET,
    ]
    with tempfile.NamedTemporaryFile("w", suffix=".ini") as handle:
        handle.write("\n".join(settings) + "\n")
        handle.flush()
        text = load_config(handle.name).to_ini()
    return ("# The dashcam service's configuration (`dashcam service install` wrote it; it is\n"
            "# never overwritten). `sudo systemctl restart dashcam` applies a change.\n\n" + text)


def drop_ins(command, source_uri, fleet=False):
    """``{name: text}``: the drop-ins, in both units' ``.d`` folders, that an installation
    running ``command`` and reading ``source_uri`` needs; ``fleet``: the configuration
    reaches a broker or an upload endpoint (``needs_network``)."""
    wanted = {}
    if command.startswith(("/home/", "/root/")):
        wanted["50-home.conf"] = HOME_DROP_IN
    if fleet or scheme_of(source_uri) in STREAM_SCHEMES:
        wanted["50-network.conf"] = NETWORK_DROP_IN
    return wanted


def needs_network(config):
    """Whether ``config`` talks to the fleet: ``[mqtt] url`` or ``[upload] endpoint`` set."""
    return bool(mqtt_url(config) or config.upload.endpoint)


def put(path, text, mode=0o644):
    """Write ``text`` to ``path`` unless it holds it already; "installed" or "unchanged"."""
    try:
        with open(path) as handle:
            if handle.read() == text:
                return "unchanged"
    except OSError:
        pass
    os.makedirs(os.path.dirname(path), exist_ok=True)
    partial = path + ".new"
    with open(partial, "w") as handle:
        handle.write(text)
    os.chmod(partial, mode)
    os.rename(partial, path)
    return "installed"


def booted(root):
    """Whether ROOT is this machine's running systemd (so units can be reloaded and started)."""
    return os.path.realpath(root) == "/" and os.path.isdir("/run/systemd/system")


def run(command):
    try:
        result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                universal_newlines=True, timeout=120)
    except OSError as error:
        raise ServiceError(f"cannot run {command[0]}: {error} (is this a systemd system?)")
    if result.returncode != 0:
        raise ServiceError("{} failed: {}".format(" ".join(command), result.stdout.strip()))
    return result.stdout


def check_privileges(root, verb):
    if os.path.realpath(root) == "/" and os.geteuid() != 0:
        raise ServiceError("`dashcam service {}` needs root: run it with sudo (or stage it "
                           "into a folder with --root DIR)".format(verb))


def install(root="/", start=False, command=None, board=None):
    """Install the service under ``root``; returns ``[(state, path)]`` for each step.

    ``board`` (a ``dashcam.board.Board``, this machine's when None) chooses the camera
    that a new configuration names."""
    check_privileges(root, "install")
    command = command or dashcam_command()
    done = []
    for name, target in FILES:
        with open(bundled_path("systemd", name)) as handle:
            text = handle.read()
        if name.endswith(".service"):
            text = text.replace(PACKAGED_COMMAND, command)
        done.append((put(under(root, target), text), "/" + target))
    sysusers = under(root, "etc/sysusers.d/dashcam.conf")
    run(["systemd-sysusers"] + ([] if os.path.realpath(root) == "/" else ["--root", root])
        + [sysusers])
    done.append(("applied", f"/etc/sysusers.d/dashcam.conf (user {USER})"))
    config = under(root, SERVICE_CONFIG)
    if os.path.exists(config):
        done.append(("kept", SERVICE_CONFIG + " (yours: never overwritten)"))
    else:
        done.append((put(config, default_config(board or read_board()), 0o644), SERVICE_CONFIG))
    settings = load_config(config)
    wanted = drop_ins(command, settings.source.uri, needs_network(settings))
    for unit in (UNIT, EXPORT_UNIT):
        folder = under(root, f"etc/systemd/system/{unit}.d")
        for name, text in sorted(wanted.items()):
            done.append((put(os.path.join(folder, name), text), f"/{unit}.d/{name}"))
        for stale in set(os.listdir(folder) if os.path.isdir(folder) else ()) - set(wanted):
            if stale in ("50-home.conf", "50-network.conf"):
                os.unlink(os.path.join(folder, stale))
                done.append(("removed", f"/{unit}.d/{stale}"))
    owner = _owner(root)
    for folder in FOLDERS:
        path = under(root, folder)
        state = "unchanged" if os.path.isdir(path) else "installed"
        os.makedirs(path, mode=0o750, exist_ok=True)
        if owner and os.geteuid() == 0:
            os.chown(path, *owner)
        done.append((state, folder))
    run(["systemctl", "--root", root, "enable", UNIT])
    done.append(("enabled", UNIT + " (starts at boot)"))
    if booted(root):
        run(["systemctl", "daemon-reload"])
        run(["udevadm", "control", "--reload"])
        run(["udevadm", "trigger", "--subsystem-match=gpio", "--action=add"])
        if start:
            run(["systemctl", "restart", UNIT])
            done.append(("started", UNIT))
    return done


def _owner(root):
    """(uid, gid) of the service user in ROOT's /etc/passwd, or None."""
    try:
        with open(under(root, "etc/passwd")) as handle:
            for line in handle:
                fields = line.split(":")
                if fields[0] == USER and len(fields) > 3:
                    return int(fields[2]), int(fields[3])
    except (OSError, ValueError):
        pass
    return None


def uninstall(root="/"):
    """Remove what ``install`` put under ``root``, but the configuration, the data and the user."""
    check_privileges(root, "uninstall")
    done = []
    if booted(root):
        run(["systemctl", "stop", UNIT])
    if os.path.exists(under(root, FILES[0][1])):
        run(["systemctl", "--root", root, "disable", UNIT])
        done.append(("disabled", UNIT))
    for _, target in FILES:
        path = under(root, target)
        if os.path.exists(path):
            os.unlink(path)
            done.append(("removed", "/" + target))
    for unit in (UNIT, EXPORT_UNIT):
        folder = under(root, f"etc/systemd/system/{unit}.d")
        if os.path.isdir(folder):
            shutil.rmtree(folder)
            done.append(("removed", f"/etc/systemd/system/{unit}.d"))
    if booted(root):
        run(["systemctl", "daemon-reload"])
        run(["udevadm", "control", "--reload"])
    done.append(("kept", "{} and {} (your settings and evidence) and the user {}".format(
        SERVICE_CONFIG, DATA, USER)))
    return done


def status(root="/"):
    """``([(state, what)], ok)``: which files are installed as packaged, the user, and, on a
    running systemd, the service's state and its last STATUS line."""
    lines, ok = [], True
    command = None
    for name, target in FILES:
        path = under(root, target)
        if not os.path.exists(path):
            lines.append(("missing", "/" + target))
            ok = False
            continue
        with open(bundled_path("systemd", name)) as handle, open(path) as installed:
            text, actual = handle.read(), installed.read()
        if name.endswith(".service"):
            command = command or _exec_command(actual)
            text = text.replace(PACKAGED_COMMAND, command or PACKAGED_COMMAND)
        lines.append(("ok" if text == actual else "modified", "/" + target))
    lines.append(("ok" if _owner(root) else "missing", "user " + USER))
    lines.append(("ok" if os.path.exists(under(root, SERVICE_CONFIG)) else "missing",
                  SERVICE_CONFIG))
    lines.append(boot_line(root))
    ok = ok and all(state in ("ok", "enabled") for state, _ in lines)
    if booted(root):
        shown = dict(line.partition("=")[::2] for line in run(
            ["systemctl", "show", UNIT, "-p", "ActiveState", "-p", "SubState", "-p",
             "StatusText", "-p", "NRestarts"]).splitlines())
        active = shown.get("ActiveState") == "active"
        lines.append(("ok" if active else "down", "{} {}/{}, restarted {} times: {}".format(
            UNIT, shown.get("ActiveState"), shown.get("SubState"), shown.get("NRestarts", "?"),
            shown.get("StatusText") or "-")))
        ok = ok and active
    else:
        lines.append(("unknown", "no running systemd at {}: the service's state is not known"
                      .format(root)))
    return lines, ok


def boot_line(root):
    """``(state, what)``: whether the service starts at boot, worded to match its state."""
    if not os.path.exists(under(root, FILES[0][1])):
        return ("missing", f"{UNIT} is not installed, so it does not start at boot: "
                           "`sudo dashcam service install`")
    if os.path.lexists(under(root, "etc/systemd/system/multi-user.target.wants/" + UNIT)):
        return ("enabled", f"{UNIT} starts at boot")
    return ("disabled", f"{UNIT} does not start at boot: `sudo systemctl enable {UNIT}`")


def _exec_command(unit_text):
    """The command an installed unit's ExecStart runs (before ``run`` or ``export``)."""
    for line in unit_text.splitlines():
        if line.startswith("ExecStart="):
            for verb in (" run ", " export "):
                if verb in line:
                    return line[len("ExecStart="):line.index(verb)]
    return None

