"""The doctor's fleet line against real sockets on localhost: one that listens, one that
does not; ``[mqtt] url`` where this build has the fleet link's section."""

import os
import socket

from dashcam.cli import main
from dashcam.config import load_config
from dashcam.doctor import Host
from dashcam.doctor.checks import Context
from dashcam.doctor.fleet import check_fleet


def context(tmp_path, text):
    path = tmp_path / "dashcam.ini"
    path.write_text(text)
    return Context(load_config(str(path)), str(tmp_path / "dashcam.db"), str(tmp_path / "rec"),
                   None, None, False, None)


def closed_port():
    """A localhost port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_fleet_line_says_what_is_reached_and_what_is_not(tmp_path):
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen(4)
        port = listening.getsockname()[1]
        ok = check_fleet(Host(), context(tmp_path, "[upload]\nendpoint = http://127.0.0.1:"
                                                    f"{port}/presign?token=x\n"))
    assert ok.status == "ok" and ok.fix is None
    assert ok.detail == f"upload endpoint http://127.0.0.1:{port}/presign reachable"
    down = closed_port()
    warn = check_fleet(Host(), context(tmp_path, f"[upload]\nendpoint = http://127.0.0.1:{down}/\n"))
    assert warn.status == "warn" and warn.detail == (
        f"upload endpoint http://127.0.0.1:{down}/ unreachable: Connection refused")
    assert warn.fix.startswith("check the URL, the network")
    ctx = context(tmp_path, f"[mqtt]\nurl = mqtt://127.0.0.1:{down}\n")
    if "mqtt" in ctx.config.sections:   # the fleet link's [mqtt] is in this build
        assert check_fleet(Host(), ctx).detail == (
            f"broker mqtt://127.0.0.1:{down} unreachable: Connection refused")


def test_doctor_prints_the_fleet_line_off_by_default(tmp_path, capsys):
    main(["doctor", "--db", str(tmp_path / "dashcam.db"), "--config", os.devnull])
    [line] = [text for text in capsys.readouterr().out.splitlines() if text.split()[1] == "fleet"]
    assert line == "ok    fleet        off: no [mqtt] url, no [upload] endpoint"
