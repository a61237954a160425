"""Handing over: the running service hears that an export finished (a real control socket, a
real event logger and store), sticks given as devices (a real loop device where this machine
lets us mount one), and the ``dashcam export`` command."""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import pytest

from dashcam import events as ev
from dashcam.cli import main
from dashcam.config import load_config
from dashcam.export import ExportError
from dashcam.export.usb import hand_over, refusal
from dashcam.fanout import FanOut, Subscriber
from dashcam.service import ControlSocketWorker, build_control, parse_message, send_message
from dashcam.store import EventLoggerWorker, EventStore, StoreReader
import volumes
from exports import T0, fill, sha256sum_check


@pytest.fixture
def service(tmp_path):
    """A running service's store, event logger and control socket; yields (db, socket, heard)."""
    db_path = str(tmp_path / "data" / "dashcam.db")
    store = EventStore(db_path)
    run = store.begin_run(T0, "0.1.0")
    fill(store, run, seconds=10)
    heard, arrived = [], threading.Event()

    def listen(pair):
        if pair[1].type == ev.EXPORT_FINISHED:
            heard.append(pair)
            arrived.set()

    subscriber = Subscriber("alerts", listen).start()
    logger = EventLoggerWorker(store, run_id=run, publish=FanOut([subscriber])).start()
    folder = tempfile.mkdtemp(prefix="ctl")   # socket paths are limited to 107 bytes
    path = os.path.join(folder, "control.sock")
    control = ControlSocketWorker(path, logger.submit).start()
    yield db_path, path, heard, arrived
    assert control.stop(2) and logger.stop(5) and subscriber.stop(2)
    store.close()
    assert not os.path.exists(path)   # the socket is removed when the service stops
    shutil.rmtree(folder)


def test_the_service_hears_an_export_finish_as_a_committed_event(tmp_path, service):
    db_path, path, heard, arrived = service
    stick = tmp_path / "stick"
    stick.mkdir()
    result, signalled = hand_over(str(stick), db_path, control_socket=path)
    assert signalled and arrived.wait(10)
    [(event_id, event)] = heard
    assert event.type == "export_finished" and event.severity == "info"
    assert event.data == {"ok": True, "device": str(stick), "folder": result.folder,
                          "files": result.files, "bytes": result.bytes, "skipped": 0, "clips": 0}
    assert sha256sum_check(result.folder)[0] == 0


def test_a_failed_export_is_heard_too(tmp_path, service):
    db_path, path, heard, arrived = service
    with pytest.raises(ExportError):
        hand_over(str(tmp_path / "not-there"), db_path, control_socket=path)
    assert arrived.wait(10)
    event = heard[0][1]
    assert event.severity == "warning" and event.data["ok"] is False
    assert event.data["error"].startswith(str(tmp_path / "not-there") + " is not a folder")


def test_control_messages_are_checked_and_bounded():
    event = parse_message(json.dumps({"type": "export_finished", "ok": True, "files": 3,
                                      "folder": "x" * 1000, "evil": "ignored"}).encode(), T0)
    assert event.ts_start == T0 and event.data == {"ok": True, "files": 3, "folder": "x" * 300}
    for bad, reason in ((b"\xff", "not a JSON object"), (b"[1]", "not a JSON object"),
                        (b'{"type": "reboot"}', "unknown type 'reboot'"),
                        (b'{"type": "export_finished", "files": -1}', "files must be a count"),
                        (b'{"type": "export_finished", "bytes": true}', "bytes must be a count")):
        with pytest.raises(ValueError) as error:
            parse_message(bad, T0)
        assert str(error.value) == reason


def test_no_service_listening_is_not_an_error(tmp_path):
    from exports import make_store
    db_path = str(tmp_path / "dashcam.db")
    make_store(db_path, seconds=3)
    result, signalled = hand_over(str(tmp_path), db_path,
                                  control_socket=str(tmp_path / "nobody.sock"))
    assert not signalled and os.path.isdir(result.folder)


FSTAB = """\
# /etc/fstab
UUID=1111-2222 /boot/efi vfat defaults 0 1
LABEL="RECORDINGS" /mnt/ssd ext4 defaults 0 2
"""


def test_disks_that_are_mounted_or_in_fstab_are_refused():
    mountinfo = "27 1 8:1 / / rw - ext4 /dev/sda1 rw\n"
    assert refusal("/dev/sda1", "8:1", mountinfo, "", {}) == "/dev/sda1 is mounted at /"
    assert refusal("/dev/sdc1", "8:33", mountinfo, FSTAB, {"LABEL": "RECORDINGS"}) == \
        '/etc/fstab names /dev/sdc1 (LABEL="RECORDINGS"): a system or data disk'
    assert refusal("/dev/sdb1", "8:17", mountinfo, FSTAB, {"UUID": "1111-2222"}).startswith(
        "/etc/fstab names /dev/sdb1 (UUID=1111-2222)")
    assert refusal("/dev/sdd1", "8:49", mountinfo, FSTAB, {"UUID": "AAAA-BBBB"}) is None


@pytest.fixture
def loop_stick(tmp_path):
    """A real block device with an ext4 filesystem (a loop device over an image file)."""
    with volumes.loop_stick(tmp_path, ["mkfs.ext4", "-q"]) as stick:
        yield stick


def test_a_stick_given_as_its_device_is_mounted_exported_to_and_unmounted(tmp_path, loop_stick):
    from exports import make_store
    device, probe = loop_stick
    db_path = str(tmp_path / "dashcam.db")
    make_store(db_path, seconds=5)
    result, _ = hand_over(device, db_path)
    with open("/proc/self/mountinfo") as handle:
        assert device not in handle.read()           # unmounted again
    assert not os.path.exists(os.path.dirname(os.path.dirname(result.folder)))  # and its folder
    subprocess.run(["mount", device, probe], check=True)
    try:
        folder = os.path.join(probe, os.path.relpath(result.folder, os.path.dirname(
            os.path.dirname(result.folder))))
        assert sha256sum_check(folder)[0] == 0
        with pytest.raises(ExportError) as error:   # mounted now: refused
            hand_over(device, db_path)
        assert str(error.value) == "not exporting to {}: {} is mounted at {}".format(
            device, device, probe)
    finally:
        subprocess.run(["umount", probe], check=True)


def test_the_export_command_prints_the_summary_and_says_who_was_told(tmp_path, service, capsys):
    db_path, path, heard, arrived = service
    ini = tmp_path / "dashcam.ini"
    ini.write_text(f"[service]\ncontrol-socket = {path}\n")
    stick = tmp_path / "stick"
    stick.mkdir()
    assert main(["export", str(stick), "--db", db_path, "--config", str(ini), "--since",
                 "2023-11-14T22:13:25Z"]) == 0
    out = capsys.readouterr().out
    assert "Events: 5 (object_appeared 5)" in out
    assert out.splitlines()[-1].endswith("; the service signals done")
    assert arrived.wait(10) and heard[0][1].data["ok"] is True
    folder = out.splitlines()[-1][3:].split(";")[0]
    assert heard[0][1].data["folder"] == folder and sha256sum_check(folder)[0] == 0
    with StoreReader(db_path) as reader:   # committed, with the id it was published with
        [row] = reader.events(types=["export_finished"])
    assert row["id"] == heard[0][0]


def test_the_export_command_refuses_a_missing_store_in_one_line(tmp_path, capsys):
    assert main(["export", str(tmp_path), "--db", str(tmp_path / "none.db")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dashcam export: error: no store at ") and err.count("\n") == 1


def test_a_second_listener_leaves_the_live_socket_alone_and_a_stale_one_is_replaced(service):
    db_path, path, heard, arrived = service
    with pytest.raises(OSError):
        ControlSocketWorker(path, heard.append)
    assert send_message(path, {"type": "export_finished", "ok": True}) and arrived.wait(10)
    stale = os.path.join(os.path.dirname(path), "stale.sock")
    killed = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    killed.bind(stale)
    killed.close()   # a killed run leaves its socket file behind
    worker = ControlSocketWorker(stale, heard.append)
    worker.sock.close()
    os.unlink(stale)


def test_a_control_socket_that_cannot_be_bound_costs_only_the_signal(tmp_path, caplog):
    config = load_config(None)
    config.service.control_socket = str(tmp_path / "no" / "such" / "folder" / "c.sock")
    assert build_control(config, lambda event: None, time.time) == []
    assert "exports will not be signalled on the LED or serial line" in caplog.text


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_progress_on_a_terminal_is_one_line_rewritten_ten_times_a_second_at_most():
    import io
    from dashcam.cli.progress import TerminalProgress
    from dashcam.export.files import human_bytes

    out, clock = io.StringIO(), Clock()
    show = TerminalProgress(out, clock, human_bytes)
    clock.t = 1.0
    show(0, 2 * 1024 ** 3, "store snapshot")
    clock.t = 1.05
    show(1024 ** 2, 2 * 1024 ** 3, "store snapshot")   # too soon: not shown
    clock.t = 1.2
    show(1024 ** 3, 2 * 1024 ** 3, "clips and snapshots")
    show.end()
    assert out.getvalue() == ("\r  0% 0 B of 2.0 GiB: store snapshot"
                              "\r 50% 1.0 GiB of 2.0 GiB: clips and snapshots\n")
