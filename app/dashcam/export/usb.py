"""Handing the evidence over: to a stick's folder, or to a stick given as its device
(``/dev/sdb1``, as udev names it), which is checked, mounted where no one else writes,
exported to (as the evidence's owner: ``owner``), synced and unmounted; then the
running service is told, so that it signals done on the LED and the serial line.

A device that is mounted already, or that ``/etc/fstab`` names (by path,
``UUID=``, ``LABEL=``, ``PARTUUID=`` or ``PARTLABEL=``), is refused: at boot
udev announces every USB disk, the one the system or the recordings live on
too, before fstab mounts it.
"""

import logging
import os
import stat
import subprocess
import tempfile

from dashcam import events as ev
from dashcam.export.files import ExportError, mounts, read_mountinfo
from dashcam.export.folder import Result, host_folder, write_export
from dashcam.export.owner import as_owner, evidence_owner, give_to
from dashcam.export.stick import Folder
from dashcam.service import send_message

log = logging.getLogger(__name__)

MOUNT_OPTIONS = "nosuid,nodev,noexec,noatime"
FSTAB_KEYS = ("UUID", "LABEL", "PARTUUID", "PARTLABEL")
# Filesystems without owners, whose files belong to whom the mount says (uid=, gid=).
OWNERLESS = ("vfat", "msdos", "exfat", "ntfs", "ntfs3")


def is_block_device(path):
    try:
        return stat.S_ISBLK(os.stat(path).st_mode)
    except OSError:
        return False


def device_number(path):
    rdev = os.stat(path).st_rdev
    return f"{os.major(rdev)}:{os.minor(rdev)}"


def blkid(device):
    """The device's ``UUID``, ``LABEL``, ``TYPE``... as ``blkid -o export`` tells them ({} if it cannot)."""
    try:
        out = subprocess.run(["blkid", "-o", "export", device], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, universal_newlines=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def refusal(device, number, mountinfo_text, fstab_text, ids):
    """Why ``device`` (``number`` "major:minor", ``ids`` from ``blkid``) is not a stick to
    export to, or None."""
    real = os.path.realpath(device)
    for point, _, mounted_number, source in mounts(mountinfo_text):
        if mounted_number == number or os.path.realpath(source) == real:
            return f"{device} is mounted at {point}"
    for line in fstab_text.splitlines():
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        spec = fields[0]
        key, _, value = spec.partition("=")
        if (key in FSTAB_KEYS and value and ids.get(key) == value.strip('"')) or \
                (spec.startswith("/") and os.path.realpath(spec) == real):
            return f"/etc/fstab names {device} ({spec}): a system or data disk"
    return None


def read_text(path):
    try:
        with open(path) as handle:
            return handle.read()
    except OSError:
        return ""


class MountedStick:
    """``with MountedStick("/dev/sdb1", owner) as folder:`` the stick, mounted on a new
    temporary folder (in the export unit's private /tmp) so that ``owner`` (an
    ``owner.Owner``, or None) may write the box's folder on it; on leaving, synced,
    unmounted, the folder removed."""

    def __init__(self, device, owner=None):
        self.device, self.owner = device, owner
        self.folder = None

    def __enter__(self):
        ids = blkid(self.device)
        reason = refusal(self.device, device_number(self.device), read_mountinfo(),
                         read_text("/etc/fstab"), ids)
        if reason:
            raise ExportError(f"not exporting to {self.device}: {reason}")
        options = MOUNT_OPTIONS
        if self.owner and ids.get("TYPE") in OWNERLESS:
            options += ",uid={},gid={}".format(*self.owner)
        self.folder = tempfile.mkdtemp(prefix="dashcam-export-")
        try:
            _run(["mount", "-o", options, self.device, self.folder], "mount " + self.device)
        except BaseException:
            os.rmdir(self.folder)
            raise
        log.info("%s (%s) mounted at %s", self.device, ids.get("TYPE", "?"), self.folder)
        if self.owner and ids.get("TYPE") not in OWNERLESS:
            try:
                with Folder.open(self.folder) as top, \
                        top.folder(host_folder(), create=True) as root:
                    give_to(root, self.owner)
            except BaseException:
                self.__exit__()
                raise
        return self.folder

    def __exit__(self, *exc):
        os.sync()
        _run(["umount", self.folder], "unmount " + self.device)
        os.rmdir(self.folder)
        log.info("%s synced and unmounted", self.device)


def _run(command, what):
    try:
        result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                universal_newlines=True, timeout=120)
    except (OSError, subprocess.SubprocessError) as error:
        raise ExportError(f"cannot {what}: {error}")
    if result.returncode != 0:
        raise ExportError("cannot {}: {}".format(
            what, (result.stderr or result.stdout).strip() or f"exit {result.returncode}"))


def hand_over(dest, db_path, recordings_dir=None, since=None, until=None, with_clips=False,
              control_socket=None, progress=None):
    """``write_export`` to ``dest`` (a folder, or a device that is mounted for it), then an
    ``export_finished`` message to the service at ``control_socket`` (if given), whether it
    worked or not. Returns ``(Result, signalled)``; a failure is raised after its message
    is sent."""
    device = dest if is_block_device(dest) else None
    try:
        if device:
            owner = evidence_owner(db_path)
            with MountedStick(device, owner) as folder:
                result = Result(*as_owner(owner, lambda: list(write_export(
                    folder, db_path, recordings_dir, since, until, with_clips,
                    progress=progress))))
        else:
            result = write_export(dest, db_path, recordings_dir, since, until, with_clips,
                                  progress=progress)
    except Exception as error:   # the LED says an export failed, however it failed
        if control_socket:
            send_message(control_socket, {"type": ev.EXPORT_FINISHED, "ok": False,
                                          "device": dest, "error": str(error)})
        raise
    signalled = bool(control_socket) and send_message(control_socket, {
        "type": ev.EXPORT_FINISHED, "ok": True, "device": dest, "folder": result.folder,
        "files": result.files, "bytes": result.bytes, "skipped": result.skipped,
        "clips": result.clips})
    return result, signalled
