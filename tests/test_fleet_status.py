"""``dashcam fleet status`` on a real store with upload rows written by the single writer."""

import json

from dashcam.cli import main
from dashcam.cli.fleet import fleet_status, status_lines
from dashcam.fleet.upload import UploadRequested, UploadUpdated, register
from dashcam.store import EventStore, StoreReader
from dashcam.store.uploads import DONE, FAILED, QUEUED
from recorded import T0

SHA = "9f" * 32


def store_with_uploads(path):
    with EventStore(path) as store:
        register(store)
        run = store.begin_run(T0, "test")
        store.write(run, [UploadRequested("r-1", 4, "https://s3.example/b/1?sig", "cmd", T0),
                          UploadRequested("auto-5", 5, None, "auto", T0 + 1),
                          UploadRequested("r-2", 6, "https://s3.example/b/2?sig", "cmd", T0 + 2),
                          UploadRequested("r-1", 4, "https://s3.example/b/1?sig", "cmd", T0)])
        store.write(run, [UploadUpdated("r-1", DONE, 1, 2500000, SHA, None, T0 + 9),
                          UploadUpdated("r-2", FAILED, 1, None, None, "403 Forbidden", T0 + 3),
                          UploadUpdated("auto-5", QUEUED, 2, None, None, "timed out", T0 + 4)])


def test_status_lists_uploads_by_state_with_the_newest(tmp_path, capsys):
    db = str(tmp_path / "dashcam.db")
    store_with_uploads(db)
    assert main(["fleet", "status", "--db", db, "--config", "/dev/null"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "uploads               1 done, 1 failed, 1 queued" in lines
    assert any(line.split()[:6] == ["r-1", "event", "4", "cmd", "done", "tries"] and
               line.endswith("2.4 MiB sha256 9f9f9f9f9f9f9f9f") for line in lines), lines
    assert any(line.split()[0] == "r-2" and line.endswith("403 Forbidden") for line in lines)
    assert main(["fleet", "status", "--db", db, "--config", "/dev/null", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["uploads"]["states"] == {"done": 1, "failed": 1, "queued": 1}
    assert [r["request_id"] for r in found["uploads"]["recent"]] == ["r-2", "auto-5", "r-1"]


def test_the_outbox_is_shown_with_the_link_and_what_was_dropped(tmp_path):
    """A real outbox (the fleet link's kind writers): messages waiting, one dropped by the
    bound, an acknowledgement and the link's state, as ``dashcam fleet status`` shows them."""
    from dashcam import events as ev
    from dashcam.config.mqtt import EventTypes
    from dashcam.fleet import messages as msg
    from dashcam.fleet.outbox import Acked, LinkState, OutboxIndex

    db = str(tmp_path / "dashcam.db")
    store_with_uploads(db)
    with EventStore(db) as store:
        OutboxIndex("van-7", 3, 10 ** 6, EventTypes(("*",))).register(store)
        run = store.begin_run(T0 + 20, "test")
        for t in range(3):
            store.write(run, [ev.Event(ev.CAMERA_LOST, T0 + t, T0 + t, None, None, ev.WARNING, {})])
        store.write(run, [msg.outgoing(msg.ALERTS, msg.ALERT_PRIORITY, {"id": "a"}, T0 + 5)])
        store.write(run, [Acked((4,), T0 + 6), LinkState("disconnected", T0 + 7, "broker away")])
    with StoreReader(db) as reader:
        lines = status_lines(fleet_status(reader))
    assert lines[0].startswith("link                  disconnected since ") and \
        lines[0].endswith("(broker away)")
    assert lines[1].startswith("last acknowledgement  20")
    # five messages (the bound of 3 dropped the two oldest events), one acknowledged
    assert lines[2].startswith("outbox                2 messages, ")
    assert lines[2].endswith(" B, 1 alerts, 1 events")
    assert lines[4] == "last sequence number  5"
    assert lines[5].startswith("dropped               2 events (published as a gap")


def test_status_of_a_missing_store_is_one_line(tmp_path, capsys):
    assert main(["fleet", "status", "--db", str(tmp_path / "none.db"), "--config",
                 "/dev/null"]) == 2
    assert capsys.readouterr().err.startswith("dashcam fleet: error: no store at ")
