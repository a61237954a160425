"""Fault: hostile sticks and a store that names files outside its recordings. Prints one JSON
object of figures.

    PYTHONPATH=app python bench/faults/hostile_stick.py [--quick]

Run as root (as the udev-triggered export unit runs), against a real store with real
recordings (libx264 segments, JPEG snapshots). Each case builds its hostile stick for real
(a folder with real links, FIFOs and crafted files; with root, also an ext4 loop device
exported through the unit's own path: mounted, the export run as the store's owner) and
points it at a victim folder standing for /etc (with a passwd, a file a stale-partial sweep
would delete, and a shadow): the real /etc is never offered to a regression. Linux inotify
watches the victim (any access) and the evidence (any change) while the export runs. For
each case: whether anything outside the stick and the evidence was read, written or deleted
(must be nothing), whether the evidence changed, whether the secret reached the stick, and
the message given (the one-line refusal, or the export's notes).
"""

import argparse
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "tests"))

from dashcam.export import ExportError, write_export  # noqa: E402
from dashcam.export.folder import host_folder  # noqa: E402
from dashcam.export.usb import hand_over  # noqa: E402
from recorded import recorded_evidence  # noqa: E402
from watch import ANY, WRITES, Watch  # noqa: E402

SECRET = b"root:$6$not-for-the-stick:19000:0:99999:7:::\n"
HOST = "bench"


def tree_digest(folder):
    """A hash of every name and byte under ``folder`` (links by their target)."""
    digest = hashlib.sha256()
    for where, dirs, files in sorted(os.walk(folder)):
        for name in sorted(dirs + files):
            path = os.path.join(where, name)
            digest.update(path.encode())
            if os.path.islink(path):
                digest.update(os.readlink(path).encode())
            elif os.path.isfile(path):
                with open(path, "rb") as handle:
                    digest.update(handle.read())
    return digest.hexdigest()


def secret_on(folder):
    for where, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(where, name)
            if os.path.isfile(path) and not os.path.islink(path):
                with open(path, "rb") as handle:
                    if SECRET in handle.read():
                        return True
    return False


def victim(folder):
    os.makedirs(os.path.join(folder, "etc"))
    for name, data in (("etc/passwd", b"root:x:0:0::/root:/bin/bash\n"),
                       ("etc/.passwd.partial", b"a stale-partial sweep would remove this\n"),
                       ("shadow", SECRET)):
        with open(os.path.join(folder, name), "wb") as handle:
            handle.write(data)


def set_row(db_path, sql, params):
    conn = sqlite3.connect(db_path)
    conn.execute(sql, params)
    conn.commit()
    conn.close()


def prepare(case, stick, db_path, recordings, outside, ids, export):
    """Make ``stick`` (and, for the store cases, ``db_path``) hostile as ``case`` says."""
    box = os.path.join(stick, host_folder(HOST))
    etc = os.path.join(outside, "etc")
    if case == "host_folder_link":
        os.symlink(etc, box)
        return
    os.makedirs(box)
    if case in ("snapshots_link", "clips_link"):
        os.symlink(etc, os.path.join(box, case.split("_")[0]))
    elif case == "lock_link":
        os.symlink(os.path.join(etc, "new-file"), os.path.join(box, ".lock"))
    elif case == "lock_fifo":
        os.mkfifo(os.path.join(box, ".lock"))
    elif case in ("index_crafted_key", "index_nested_100k"):
        with open(os.path.join(box, ".index.json"), "w") as handle:
            handle.write("[" * 100000 if case == "index_nested_100k" else
                         json.dumps({f"snapshots/event-{ids[0]:06d}.jpg": "x"}))
    elif case in ("altered_snapshot", "evidence_file_links"):
        export()
        shot = os.path.join(box, "snapshots", f"event-{ids[0]:06d}.jpg")
        os.unlink(shot)
        if case == "altered_snapshot":
            forged = b"\xff\xd8 not what the camera saw"
            with open(shot, "wb") as handle:
                handle.write(forged)
            with open(os.path.join(box, ".index.json"), "w") as handle:
                json.dump({os.path.relpath(shot, box): {"source": [], "files": [[
                    os.path.relpath(shot, box), hashlib.sha256(forged).hexdigest(),
                    len(forged), os.stat(shot).st_mtime_ns]]}}, handle)
        else:
            os.symlink(os.path.join(outside, "shadow"), shot)
            clip = os.path.join(box, "clips", f"event-{ids[0]:06d}.mp4")
            os.unlink(clip)
            os.symlink(os.path.join(etc, "passwd"), clip)
    elif case in ("store_row_relative", "store_row_absolute", "recordings_link"):
        row = {"store_row_relative": os.path.relpath(os.path.join(outside, "shadow"),
                                                     recordings),
               "store_row_absolute": os.path.join(outside, "shadow"),
               "recordings_link": "snapshots/link.jpg"}[case]
        if case == "recordings_link":
            os.symlink(os.path.join(outside, "shadow"), os.path.join(recordings, row))
        set_row(db_path, "UPDATE events SET snapshot = ? WHERE id = ?", (row, ids[1]))
        set_row(db_path, "UPDATE segments SET path = ? WHERE id = (SELECT segment_id FROM "
                "clips WHERE event_id = ? LIMIT 1)", (row, ids[2]))


CASES = ("host_folder_link", "snapshots_link", "clips_link", "lock_link", "lock_fifo",
         "evidence_file_links", "index_crafted_key", "index_nested_100k", "altered_snapshot",
         "store_row_relative", "store_row_absolute", "recordings_link")


def run_case(case, base, data, ids):
    """One case in its own folder: a copy of the store, a stick, a victim. Its figures."""
    folder = os.path.join(base, case)
    stick, outside = os.path.join(folder, "stick"), os.path.join(folder, "victim")
    os.makedirs(stick)
    victim(outside)
    db_path = os.path.join(folder, "dashcam.db")
    shutil.copy(os.path.join(data, "dashcam.db"), db_path)
    recordings = os.path.join(data, "rec")

    def export():
        return write_export(stick, db_path, recordings, with_clips=True, host=HOST)

    prepare(case, stick, db_path, recordings, outside, ids, export)
    before = tree_digest(outside)
    figures = {}
    # the folders are listed before the watch begins: listing them is a read too
    folders = [w for w, _, _ in os.walk(outside)], [w for w, _, _ in os.walk(data)]
    with Watch() as watch:
        for where in folders[0]:
            watch.add(where, ANY)
        for where in folders[1]:
            watch.add(where, WRITES)
        try:
            result = export()
            figures["outcome"] = "exported"
            figures["message"] = result.notes
            figures["manifest_ok"] = subprocess.run(
                ["sha256sum", "-c", "--quiet", "MANIFEST.sha256"], cwd=result.folder,
                stderr=subprocess.DEVNULL).returncode == 0
            figures["reused"] = result.skipped
        except ExportError as error:
            figures["outcome"], figures["message"] = "refused", str(error)
        events = watch.events()
    figures["outside_touched"] = [e for e in events if e[0].startswith(outside)]
    figures["evidence_changed"] = [e for e in events if e[0].startswith(data) and not
                                   e[0].endswith(("-wal", "-shm"))]
    figures["outside_changed"] = tree_digest(outside) != before
    figures["secret_on_stick"] = secret_on(stick)
    if case == "recordings_link":
        os.unlink(os.path.join(recordings, "snapshots", "link.jpg"))
    return figures


def device_case(base, data):
    """An ext4 loop stick with ``clips`` a link to the victim and a snapshot a link to its
    shadow, exported by device as the unit does (the store owned by nobody)."""
    if not (shutil.which("losetup") and shutil.which("mkfs.ext4")):
        return {"skipped": "needs losetup and mkfs.ext4"}
    folder = os.path.join(base, "device")
    outside = os.path.join(folder, "victim")
    victim(outside)
    store = tempfile.mkdtemp(prefix="dashcam-owner-")
    os.chmod(store, 0o755)
    shutil.copytree(data, os.path.join(store, "data"), symlinks=True)
    for where, dirs, files in os.walk(store):
        for name in [where] + [os.path.join(where, n) for n in dirs + files]:
            os.chown(name, 65534, 65534)
    image, probe = os.path.join(folder, "stick.img"), os.path.join(folder, "probe")
    os.mkdir(probe)
    with open(image, "wb") as handle:
        handle.truncate(64 * 2 ** 20)
    subprocess.run(["mkfs.ext4", "-q", image], check=True)
    device = subprocess.run(["losetup", "-f", "--show", image], stdout=subprocess.PIPE,
                            universal_newlines=True, check=True).stdout.strip()
    figures = {}
    try:
        subprocess.run(["mount", device, probe], check=True)
        box = os.path.join(probe, host_folder())
        os.makedirs(os.path.join(box, "snapshots"))
        os.symlink(os.path.join(outside, "etc"), os.path.join(box, "clips"))
        os.symlink(os.path.join(outside, "shadow"), os.path.join(box, "snapshots", "x.jpg"))
        subprocess.run(["umount", probe], check=True)
        before = tree_digest(outside)
        folders = [w for w, _, _ in os.walk(outside)]
        with Watch() as watch:
            for where in folders:
                watch.add(where, ANY)
            try:
                hand_over(device, os.path.join(store, "data", "dashcam.db"),
                          os.path.join(store, "data", "rec"), with_clips=True)
                figures["outcome"] = "exported"
            except ExportError as error:
                figures["outcome"], figures["message"] = "refused", str(error)
            figures["outside_touched"] = watch.events()
        figures["outside_changed"] = tree_digest(outside) != before
        figures["outside_owner_kept"] = os.stat(os.path.join(outside, "shadow")).st_uid == 0
    finally:
        subprocess.run(["umount", probe], stderr=subprocess.DEVNULL)
        subprocess.run(["losetup", "-d", device])
        shutil.rmtree(store)
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4 events instead of 12")
    args = parser.parse_args()
    base = tempfile.mkdtemp(prefix="dashcam-hostile-")
    try:
        data = os.path.join(base, "data")
        os.mkdir(data)
        _, _, ids = recorded_evidence(data, events=4 if args.quick else 12)
        cases = {case: run_case(case, base, data, ids) for case in CASES}
        if os.geteuid() == 0:
            cases["ext4_device_links"] = device_case(base, data)
        clean = all(not c.get("outside_touched") and not c.get("evidence_changed") and
                    not c.get("outside_changed") and not c.get("secret_on_stick")
                    for c in cases.values() if "skipped" not in c)
        with open("/proc/loadavg") as handle:
            load = handle.read().split()[0]
        print(json.dumps({"root": os.geteuid() == 0, "cases": cases,
                          "nothing_outside_touched": clean, "load": load}, sort_keys=True))
    finally:
        shutil.rmtree(base)
    return 0


if __name__ == "__main__":
    sys.exit(main())
