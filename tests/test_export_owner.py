"""A stick export as root runs as the evidence's owner once the stick is mounted: real loop
devices (ext4, which keeps owners, and FAT, which takes them from the mount), a store owned by
``nobody``, and a root-only file in its recordings that only root could copy; and the export
unit's systemd hardening, as ``systemd-analyze security`` scores it."""

import os
import re
import shutil
import sqlite3
import subprocess
import tempfile

import pytest

from dashcam.errors import StoreError
from dashcam.export import ExportError
from dashcam.export.folder import host_folder
from dashcam.export.owner import Owner, as_owner, evidence_owner
from dashcam.export.usb import hand_over
from exports import add_recordings, make_store, sha256sum_check
from volumes import loop_stick

NOBODY = Owner(65534, 65534)
UNIT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "systemd",
                    "dashcam-export@.service")
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="changing user needs root")


@pytest.fixture
def nobodys_store():
    """A store with five events' snapshots and clips, owned by nobody (uid 65534) as the
    service's are by dashcam, in a folder nobody can reach; one event's snapshot is a
    root-only file (0600) inside the recordings. Yields (db path, ids, secret event id)."""
    top = tempfile.mkdtemp(prefix="dashcam-owner-")   # not below pytest's root-only folder
    os.chmod(top, 0o755)
    db_path = os.path.join(top, "dashcam.db")
    ids = make_store(db_path, seconds=10)
    add_recordings(db_path, os.path.join(top, "recordings"), ids[:5])
    for folder, dirs, files in os.walk(top):
        for name in [folder] + [os.path.join(folder, n) for n in dirs + files]:
            os.chown(name, *NOBODY)
    secret = os.path.join(top, "recordings", "snapshots", "root-only.jpg")
    with open(secret, "wb") as handle:
        handle.write(b"\xff\xd8 only root may read this")
    os.chmod(secret, 0o600)
    conn = sqlite3.connect(db_path)
    conn.execute("UPDATE events SET snapshot = 'snapshots/root-only.jpg' WHERE id = ?", (ids[5],))
    conn.commit()
    conn.close()
    os.chown(db_path, *NOBODY)
    yield db_path, ids[:5], ids[5]
    shutil.rmtree(top)


def owners(folder):
    found = set()
    for where, dirs, files in os.walk(folder):
        for name in dirs + files:
            stats = os.lstat(os.path.join(where, name))
            found.add((stats.st_uid, stats.st_gid))
    return found


@needs_root
def test_work_runs_as_the_owner_and_its_errors_come_back_as_one_line():
    assert as_owner(NOBODY, lambda: [os.getuid(), os.getgid(), os.getgroups()]) == [
        65534, 65534, [65534]]

    def fails():
        raise StoreError("no store at /nowhere: run `dashcam run` first")

    with pytest.raises(ExportError) as error:
        as_owner(NOBODY, fails)
    assert str(error.value) == "no store at /nowhere: run `dashcam run` first"

    with pytest.raises(ExportError) as error:
        as_owner(NOBODY, lambda: os.kill(os.getpid(), 9))
    assert str(error.value) == ("the export process (user 65534) ended without a word (killed "
                                "by signal 9): nothing more was exported")
    assert as_owner(None, os.getuid) == 0 and evidence_owner("/no/such/store") is None


@needs_root
@pytest.mark.parametrize("mkfs", [["mkfs.ext4", "-q"], ["mkfs.vfat"]], ids=["ext4", "vfat"])
def test_a_stick_export_runs_as_the_stores_owner_and_cannot_read_what_root_alone_can(
        tmp_path, nobodys_store, mkfs):
    db_path, ids, secret_event = nobodys_store
    with loop_stick(tmp_path, mkfs) as (device, probe):
        if mkfs[0] == "mkfs.ext4":
            # an older export, made as root, left root's folders and a stale snapshot
            subprocess.run(["mount", device, probe], check=True)
            os.makedirs(os.path.join(probe, host_folder(), "snapshots"))
            with open(os.path.join(probe, host_folder(), "snapshots",
                                   f"event-{ids[0]:06d}.jpg"), "wb") as handle:
                handle.write(b"stale")
            subprocess.run(["umount", probe], check=True)
        result, _ = hand_over(device, db_path, with_clips=False)
        assert result.snapshots == 5 and result.notes == [
            f"event {secret_event}: snapshot not exported: snapshots/root-only.jpg cannot be "
            "read (Permission denied)"]
        subprocess.run(["mount", device, probe], check=True)
        try:
            folder = os.path.join(probe, os.path.relpath(result.folder, os.path.dirname(
                os.path.dirname(result.folder))))
            assert sha256sum_check(folder)[0] == 0
            if mkfs[0] == "mkfs.ext4":   # the files the export made are the owner's
                assert owners(os.path.join(probe, host_folder())) == {tuple(NOBODY)}
        finally:
            subprocess.run(["umount", probe], check=True)


def analyze(unit):
    if not shutil.which("systemd-analyze"):
        pytest.skip("needs systemd-analyze")
    out = subprocess.run(["systemd-analyze", "security", "--offline=true", unit],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         universal_newlines=True).stdout
    return out


def test_the_export_unit_keeps_only_the_privileges_to_mount_and_to_become_the_owner():
    out = analyze(UNIT)
    exposure = float(re.search(r"Overall exposure level for \S+: (\d+\.\d+)", out).group(1))
    assert exposure <= 2.0, out
    with open(UNIT) as handle:
        unit = handle.read()
    [bounding] = re.findall(r"^CapabilityBoundingSet=(.*)$", unit, re.M)
    assert sorted(bounding.split()) == ["CAP_CHOWN", "CAP_SETGID", "CAP_SETUID",
                                        "CAP_SYS_ADMIN"]
    assert "✓ CapabilityBoundingSet=~CAP_(DAC_*|FOWNER|IPC_OWNER)" in out


@needs_root
def test_links_on_an_ext4_stick_are_neither_followed_nor_handed_over(tmp_path, nobodys_store):
    from watch import ANY, Watch

    db_path, _, _ = nobodys_store
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "passwd").write_bytes(b"root:x:0:0::/root:/bin/bash\n")
    with loop_stick(tmp_path, ["mkfs.ext4", "-q"]) as (device, probe):
        subprocess.run(["mount", device, probe], check=True)
        box = os.path.join(probe, host_folder())
        os.makedirs(os.path.join(box, "snapshots"))
        os.symlink(str(outside), os.path.join(box, "clips"))
        os.symlink(str(outside / "passwd"), os.path.join(box, "snapshots", "event-000001.jpg"))
        subprocess.run(["umount", probe], check=True)
        with Watch() as watch:
            watch.add(outside, ANY)
            with pytest.raises(ExportError) as error:
                hand_over(device, db_path, with_clips=True)
            assert watch.events() == []
        assert str(error.value).endswith("/{}/clips is a link or not a folder: not following "
                                         "it; remove it and export again".format(host_folder()))
        assert os.stat(str(outside / "passwd")).st_uid == 0
        with open("/proc/self/mountinfo") as handle:
            assert device not in handle.read()   # unmounted after the refusal too
