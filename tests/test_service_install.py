"""``dashcam service install --root`` into a staging folder, then systemd's own tools on what it
wrote: ``systemd-analyze verify`` and ``systemd-analyze security --offline=true``
(systemd 252 here), and systemd-sysusers for the user."""

import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile

import pytest

from dashcam.cli import main
from dashcam.board import Board
from dashcam.service.install import default_source, drop_ins

needs_systemd = pytest.mark.skipif(
    not (shutil.which("systemd-analyze") and shutil.which("systemd-sysusers")
         and shutil.which("systemctl")), reason="needs systemd's tools (systemd-analyze, "
                                                 "systemd-sysusers, systemctl)")


def analyze(*args):
    result = subprocess.run(["systemd-analyze"] + list(args), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, universal_newlines=True)
    return result.returncode, result.stdout


def exposure(unit_path):
    status, out = analyze("security", "--offline=true", unit_path)
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", out)
    assert status == 0 and match, out
    return float(match.group(1))


def staged(root, *parts):
    return os.path.join(str(root), *parts)


@needs_systemd
def test_install_into_a_staging_root_verifies_and_is_hardened(tmp_path, capsys):
    root = tmp_path / "root"
    root.mkdir()
    assert main(["service", "install", "--root", str(root)]) == 0
    first = capsys.readouterr().out
    assert "installed  /etc/systemd/system/dashcam.service" in first
    assert "installed  /etc/dashcam/dashcam.ini" in first
    units = staged(root, "etc", "systemd", "system")
    with open(os.path.join(units, "dashcam.service")) as handle:
        unit = handle.read()
    command = os.path.join(os.path.dirname(sys.executable), "dashcam")
    assert f"ExecStart={command} run --config /etc/dashcam/dashcam.ini" in unit
    # systemd's verdicts on what was written
    for name in ("dashcam.service", "dashcam-export@sdb1.service"):
        assert analyze("verify", os.path.join(units, name)) == (0, ""), name
    assert exposure(os.path.join(units, "dashcam.service")) <= 3.0
    assert exposure(os.path.join(units, "dashcam-export@sdb1.service")) <= 3.0
    # the user, in the device groups (systemd-sysusers applied the file in the root)
    with open(staged(root, "etc", "passwd")) as handle:
        assert re.search(r"^dashcam:x:\d+:\d+:Dashcam service:/var/lib/dashcam:", handle.read(),
                         re.M)
    with open(staged(root, "etc", "group")) as handle:
        groups = {line.split(":")[0]: line.strip().split(":")[3] for line in handle}
    assert all(groups[g] == "dashcam" for g in ("video", "gpio", "dialout", "i2c"))
    assert os.path.islink(os.path.join(units, "multi-user.target.wants", "dashcam.service"))
    assert os.path.isdir(staged(root, "var", "lib", "dashcam", "recordings"))
    with open(staged(root, "etc", "udev", "rules.d", "90-dashcam-export.rules")) as handle:
        assert 'ENV{SYSTEMD_WANTS}+="dashcam-export@%k.service"' in handle.read()
    assert main(["service", "status", "--root", str(root)]) == 0
    assert "ok         user dashcam" in capsys.readouterr().out

    # again: nothing changes, and the configuration the user edited is kept
    config = staged(root, "etc", "dashcam", "dashcam.ini")
    with open(config, "a") as handle:
        handle.write("\n[source]\nuri = rtsp://camera.local/stream\n")
    assert main(["service", "install", "--root", str(root)]) == 0
    again = capsys.readouterr().out
    assert "unchanged  /etc/systemd/system/dashcam.service" in again
    assert "kept       /etc/dashcam/dashcam.ini (yours: never overwritten)" in again
    assert open(config).read().endswith("uri = rtsp://camera.local/stream\n")
    # ... and its network camera gets the drop-in that lets the service reach it
    assert "installed  /dashcam.service.d/50-network.conf" in again
    assert analyze("verify", os.path.join(units, "dashcam.service")) == (0, "")
    assert exposure(os.path.join(units, "dashcam.service")) <= 3.0

    assert main(["service", "uninstall", "--root", str(root)]) == 0
    gone = capsys.readouterr().out
    assert "removed    /etc/systemd/system/dashcam.service" in gone
    assert not os.path.exists(os.path.join(units, "dashcam.service"))
    assert not os.path.exists(os.path.join(units, "dashcam.service.d"))
    assert not os.path.lexists(os.path.join(units, "multi-user.target.wants", "dashcam.service"))
    assert os.path.exists(config) and os.path.isdir(staged(root, "var", "lib", "dashcam"))
    assert main(["service", "status", "--root", str(root)]) == 1
    assert "missing    /etc/systemd/system/dashcam.service" in capsys.readouterr().out


def test_without_root_privileges_install_says_so_in_one_line(monkeypatch, capsys):
    # An ordinary user's id (this suite may run as root, whose Python others cannot run).
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    for verb in ("install", "uninstall"):
        assert main(["service", verb]) == 2
        out, err = capsys.readouterr()
        assert out == "" and err == (
            "dashcam service: error: `dashcam service {}` needs root: run it with sudo (or "
            "stage it into a folder with --root DIR)\n".format(verb))


def test_the_drop_ins_follow_the_installation_and_the_camera():
    assert drop_ins("/opt/dashcam/.venv/bin/dashcam", "csi://0") == {}
    assert set(drop_ins("/home/nvidia/dashcam/.venv/bin/dashcam", "csi://0")) == {"50-home.conf"}
    assert set(drop_ins("/usr/local/bin/dashcam", "rtsp://10.0.0.9/live")) == {"50-network.conf"}
    assert set(drop_ins("/usr/local/bin/dashcam", "RTMP://10.0.0.9/live")) == {"50-network.conf"}


def test_the_new_configuration_names_the_camera_this_machine_has():
    assert default_source(Board("NVIDIA Jetson Nano Developer Kit"), ["/dev/video0"]) == "csi://0"
    assert default_source(Board(""), ["/dev/video2", "/dev/video0"]) == "v4l2:///dev/video0"
    assert default_source(Board(""), []) == ""


@needs_systemd
def test_status_says_whether_the_service_starts_at_boot_without_contradiction(tmp_path, capsys):
    root = tmp_path / "root"
    root.mkdir()

    def boot_line():
        out = capsys.readouterr().out
        [line] = [line for line in out.splitlines() if "at boot" in line]
        return line

    assert main(["service", "status", "--root", str(root)]) == 1   # not installed
    assert boot_line() == ("missing    dashcam.service is not installed, so it does not start at "
                           "boot: `sudo dashcam service install`")
    assert main(["service", "install", "--root", str(root)]) == 0
    capsys.readouterr()
    assert main(["service", "status", "--root", str(root)]) == 0   # installed and enabled
    assert boot_line() == "enabled    dashcam.service starts at boot"
    subprocess.run(["systemctl", "--root", str(root), "disable", "dashcam.service"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert main(["service", "status", "--root", str(root)]) == 1   # installed, disabled
    assert boot_line() == ("disabled   dashcam.service does not start at boot: "
                           "`sudo systemctl enable dashcam.service`")


def argus_wait_script(daemon, socket_path, bound_s):
    """The unit's ExecStartPre= shell script (``$$`` unescaped, as systemd runs it) pointed at
    ``daemon`` and ``socket_path``, waiting ``bound_s`` seconds instead of 30."""
    with open(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           "systemd", "dashcam.service")) as handle:
        [line] = [l for l in handle.read().splitlines() if l.startswith("ExecStartPre=+")]
    command = shlex.split(line[len("ExecStartPre=+"):].replace("$$", "$"))
    assert command[:2] == ["/bin/sh", "-c"]
    script = command[2].replace("/usr/sbin/nvargus-daemon", daemon)
    return script.replace("/tmp/argus_socket", socket_path).replace("-lt 30", f"-lt {bound_s}")


def test_the_unit_waits_for_the_argus_socket_only_where_nvargus_is_installed():
    folder = tempfile.mkdtemp(prefix="argus")   # socket paths are limited to 107 bytes
    daemon, path = os.path.join(folder, "nvargus-daemon"), os.path.join(folder, "argus_socket")

    def run_wait():
        result = subprocess.run(["/bin/sh", "-c", argus_wait_script(daemon, path, 1)],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                universal_newlines=True, timeout=30)
        return result.returncode, result.stdout

    assert run_wait() == (0, "")   # no Argus daemon installed (a PC): no wait, no word
    with open(daemon, "w") as handle:
        handle.write("#!/bin/sh\n")
    os.chmod(daemon, 0o755)
    assert run_wait() == (0, f"dashcam: no {path} after 30 s (is nvargus-daemon running?): the "
                             "CSI camera stays unavailable until the service restarts\n")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    try:
        assert run_wait() == (0, "")   # the daemon's socket is there: the service starts at once
    finally:
        listener.close()
        shutil.rmtree(folder)
