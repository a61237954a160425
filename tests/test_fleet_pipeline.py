"""A real run with ``[upload] endpoint``: the alerts' clips go by themselves, through the
composition root's uploader, to a real HTTP server on localhost; the stop plan stops it."""

import hashlib
import io
import os

import pytest

from dashcam.cli.run import print_summary
from dashcam.fleet.upload import Job
from dashcam.runtime import build_pipeline
from dashcam.store import StoreReader
from dashcam.store.uploads import pending_uploads, upload_summary
from put_server import PutServer
from recorded import wait_for
from test_pipeline import make_config

av = pytest.importorskip("av", reason="PyAV records and joins the clips (no wheel for 3.6)")


def done_rows(db_path):
    with StoreReader(db_path) as reader:
        return [r for r in upload_summary(reader.conn)["recent"] if r["state"] == "done"]


def test_alert_clips_are_uploaded_by_themselves_during_a_run(tmp_path, tiny_model_path):
    db_path = str(tmp_path / "dashcam.db")
    with PutServer() as server:
        config = make_config(tmp_path, run={"status_interval": 0},
                             recording={"segment_seconds": 1, "pre_roll": 1, "post_roll": 1},
                             upload={"endpoint": server.url("/presign"), "auto": "alert",
                                     "bandwidth": 0},
                             **{"rule:bright": {"labels": "car", "cooldown": 30},
                                "rule:forward-collision": {"enabled": "false"},
                                "rule:person-ahead": {"enabled": "false"},
                                "rule:road-sign": {"enabled": "false"}})
        pipeline = build_pipeline(config, source="synthetic://?seed=3&width=320&height=180&fps=15",
                                  db_path=db_path, model_path=tiny_model_path, status_stream=None)
        assert pipeline.stages()["uploads"] == [pipeline.parts.uploads]
        pipeline.start()
        try:
            assert wait_for(lambda: done_rows(db_path), timeout=90), "no clip was uploaded"
        finally:
            summary = pipeline.stop()
    assert summary["uploads"]["uploaded"] >= 1 and "uploader" not in summary.get("stuck", [])
    text = io.StringIO()
    print_summary(summary, text)
    assert "  uploads: {} clips sent (".format(summary["uploads"]["uploaded"]) in text.getvalue()
    done = done_rows(db_path)[-1]   # the first done (rows come newest first)
    with StoreReader(db_path) as reader:
        alerts = {e["id"] for e in reader.events(types=["alert"])}
    asked = [request for _, request in server.posts if request["event_id"] == done["event_id"]]
    assert asked[0]["kind"] == "alert" and asked[0]["device"] and done["event_id"] in alerts
    [body] = {body for path, body in server.bodies
              if path == "/clips/{}.mp4?X-Sig=abc".format(done["event_id"])}
    assert hashlib.sha256(body).hexdigest() == done["sha256"] and len(body) == done["bytes"]
    clip = tmp_path / "received.mp4"
    clip.write_bytes(body)
    with av.open(str(clip)) as container:
        assert len(list(container.decode(video=0))) > 0
    with StoreReader(db_path) as reader:   # a clip joined and not sent waits for the next start
        waiting = {Job(*row).file_name for row in pending_uploads(reader.conn)}
    assert set(os.listdir(str(tmp_path / "uploads"))) <= waiting
