"""``dashcam run`` as systemd runs it: ``$NOTIFY_SOCKET`` and ``$WATCHDOG_USEC`` set, the
control socket configured; a real process, a real socket where systemd's would be, SIGTERM
to stop it (what ``systemctl stop`` sends)."""

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile

from dashcam.service import send_message
from dashcam.store import StoreReader
from test_pipeline import check_store_after_run

APP = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "app")


def start_as_systemd_does(tmp_path, folder, model, ini_text, seed):
    """``(process, socket, store path)``: ``dashcam run`` with ``$NOTIFY_SOCKET`` and
    ``$WATCHDOG_USEC`` set, its datagrams arriving at a real socket in ``folder``."""
    notify = os.path.join(folder, "notify.sock")
    systemd = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    systemd.bind(notify)
    systemd.settimeout(30)
    ini = tmp_path / "dashcam.ini"
    ini.write_text("[run]\nstatus-interval = 0\n" + ini_text)
    db_path = str(tmp_path / "dashcam.db")
    env = dict(os.environ, PYTHONPATH=APP, NOTIFY_SOCKET=notify, WATCHDOG_USEC="400000")
    process = subprocess.Popen(
        [sys.executable, "-m", "dashcam", "run", "--source",
         f"synthetic://?seed={seed}&width=160&height=96&fps=50", "--db", db_path, "--model",
         model, "--config", str(ini)], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, universal_newlines=True)
    return process, systemd, db_path


def test_run_under_systemd_notifies_and_hears_an_export(tmp_path, tiny_model_path):
    folder = tempfile.mkdtemp(prefix="sd")   # socket paths are limited to 107 bytes
    notify, control = os.path.join(folder, "notify.sock"), os.path.join(folder, "control.sock")
    process, systemd, db_path = start_as_systemd_does(
        tmp_path, folder, tiny_model_path, f"[service]\ncontrol-socket = {control}\n", seed=1)
    seen = []
    try:
        while "WATCHDOG=1" not in seen:
            seen += systemd.recv(4096).decode().split("\n")
        assert seen[:2] == ["READY=1", "STATUS=running"]
        assert any(line.startswith("STATUS=frames in ") for line in seen)
        assert send_message(control, {"type": "export_finished", "ok": True, "files": 7})
        process.send_signal(signal.SIGTERM)
        while "STOPPING=1" not in seen:
            seen += systemd.recv(4096).decode().split("\n")
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
        systemd.close()
    assert process.returncode == 0, err
    assert not os.path.exists(control)   # the service removed its socket
    with StoreReader(db_path) as reader:
        [event] = reader.events(types=["export_finished"])
    assert event["data"] == {"ok": True, "files": 7}
    os.unlink(notify)
    os.rmdir(folder)


def test_a_watchdog_sigabrt_from_systemd_237_stops_in_order(tmp_path, tiny_model_path):
    """systemd 237 (JetPack 4.6) has no WatchdogSignal= and sends SIGABRT when the watchdog
    pings stop: the run stops as for SIGTERM, the run closed and everything committed."""
    folder = tempfile.mkdtemp(prefix="sd")
    notify = os.path.join(folder, "notify.sock")
    process, systemd, db_path = start_as_systemd_does(tmp_path, folder, tiny_model_path, "",
                                                      seed=2)
    seen = []
    try:
        while "WATCHDOG=1" not in seen:
            seen += systemd.recv(4096).decode().split("\n")
        process.send_signal(signal.SIGABRT)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
        systemd.close()
        os.unlink(notify)
        os.rmdir(folder)
    assert process.returncode == 0, err
    summary = {"frames_processed": int(re.search(r"processed (\d+)", out).group(1)),
               "events": int(re.search(r"events (\d+)", out).group(1)),
               "detection_rows": int(re.search(r"detection rows (\d+)", out).group(1))}
    check_store_after_run(db_path, summary)
