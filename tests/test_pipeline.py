"""The whole run on real parts: sources, ONNX Runtime on a tiny model, SQLite files.

The only fake is ``SlowBackend``, which wraps the real ONNX Runtime backend and
sleeps, because the tiny test model is far faster than any frame rate and a
slow model is what makes a newest-frame slot drop frames.
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import sqlite_utils

from dashcam.capture.sources import open_source
from dashcam.config import load_config
from dashcam.fanout import Subscriber
from dashcam.inference import build_detector
from dashcam.inference.backends import build_backend
from dashcam.runtime import build_pipeline
from dashcam.store import EventStore, StoreReader
from videos import read_back, write_video

APP = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "app")


def make_config(tmp_path, **sections):
    lines = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines.extend("{} = {}".format(k.replace("_", "-"), v) for k, v in values.items())
    path = tmp_path / "dashcam.ini"
    path.write_text("\n".join(lines) + "\n")
    return load_config(str(path))


def check_store_after_run(db_path, summary):
    """Everything the run reported is in the file, the run is closed, the file is sound."""
    with StoreReader(db_path) as reader:
        assert reader.integrity_check() == "ok"
        run = reader.runs()[-1]
        assert run["ended_at"] is not None
        assert json.loads(run["summary"])["frames_processed"] == summary["frames_processed"]
        events = reader.events(run_id=run["id"])
        assert events[0]["type"] == "run_started" and events[-1]["type"] == "run_stopped"
        # every object that appeared was closed when the run stopped
        assert [e for e in events if e["type"] == "object_appeared" and e["ts_end"] is None] == []
        assert len(events) == summary["events"]
        assert reader.count("detections") == summary["detection_rows"]
        return reader.runs(), events


def test_a_file_run_commits_every_frame_and_closes_the_run(tmp_path, tiny_model_path):
    video = write_video(tmp_path / "clip.mp4", frames=25)
    db_path = str(tmp_path / "store" / "dashcam.db")
    config = make_config(tmp_path, run={"status_interval": 0}, tracking={"min_hits": 2})
    frames_seen, events_heard = [], []
    summary = build_pipeline(config, source=video + "?realtime=0", db_path=db_path,
                             model_path=tiny_model_path, status_stream=None,
                             frame_subscribers=[Subscriber("alerts", frames_seen.append)],
                             event_subscribers=[Subscriber("clips", events_heard.append)]).run()
    assert summary["frames_in"] == summary["frames_processed"] == 25
    assert summary["frames_dropped"] == 0 and summary["detection_rows"] > 0
    _, events = check_store_after_run(db_path, summary)
    assert any(e["type"] == "object_left" for e in events)
    db = sqlite_utils.Database(db_path)
    frames = db.execute("SELECT count(DISTINCT frame_index), max(frame_index) FROM detections").fetchone()
    assert frames[1] <= 24 and frames[0] > 0
    # the run took under [run] stats-interval: its one, partial, interval is written at the stop
    assert [r["frames_processed"] for r in db.query("SELECT frames_processed FROM stats")] == [25]
    # subscribers saw every frame as it left inference, and every committed event with its id
    assert [r.frame_index for r in frames_seen if r.frame_index is not None] == list(range(25))
    assert [(i, e.type) for i, e in events_heard] == [(e["id"], e["type"]) for e in events]


class SlowBackend:
    """The real backend, made slow on purpose (see the module docstring)."""

    def __init__(self, backend, seconds):
        self.backend, self.seconds = backend, seconds
        self.spec, self.name, self.precision = backend.spec, "slow-" + backend.name, "fp32"

    def infer(self, blob):
        time.sleep(self.seconds)
        return self.backend.infer(blob)

    def close(self):
        self.backend.close()


@pytest.mark.parametrize("preprocess_ahead", ["never", "always"])
def test_a_slow_backend_drops_frames_and_latency_stays_bounded(tmp_path, tiny_model_path,
                                                               preprocess_ahead):
    config = make_config(tmp_path, run={"status_interval": 0, "preprocess_ahead": preprocess_ahead})
    backend = SlowBackend(build_backend(config, tiny_model_path), 0.04)
    detector = build_detector(config, backend=backend)
    uri = "synthetic://?seed=2&width=96&height=64&fps=250"
    store = EventStore(str(tmp_path / "dashcam.db"))
    pipeline = build_pipeline(config, source=uri, detector=detector, store=store,
                              open_source=lambda: open_source(uri), status_stream=None)
    summary = pipeline.run(duration=1.2)
    assert summary["frames_dropped"] > 0
    # every frame was processed, overwritten (counted) or left in the slot at the stop
    assert summary["frames_in"] - summary["frames_processed"] - summary["frames_dropped"] in (0, 1)
    # Newest frame wins: a frame waits at most for the inference in progress, then
    # its own. A queue would instead make the last frames wait ~ the whole run
    # (here ~1 s); the slack covers the commit and a busy machine.
    latencies = pipeline.logger.latency.values()
    detect = [a + b + c for a, b, c in zip(pipeline.inference.preprocess.values(),
                                           pipeline.inference.infer.values(),
                                           pipeline.inference.postprocess.values())]
    assert max(latencies) <= 2 * max(detect) + 0.5
    check_store_after_run(str(tmp_path / "dashcam.db"), summary)


def start_run(db_path, model_path, ini, *extra):
    """``dashcam run`` in a subprocess on a small synthetic road, once frames have gone through."""
    env = dict(os.environ, PYTHONPATH=APP + os.pathsep + os.environ.get("PYTHONPATH", ""))
    process = subprocess.Popen(
        [sys.executable, "-m", "dashcam", "run", "--source", "synthetic://?seed=1&width=320&height=180",
         "--db", db_path, "--model", model_path, "--config", str(ini)] + list(extra),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, universal_newlines=True)
    for line in process.stderr:   # wait until frames have gone through
        if line.startswith("frames in") and " processed 0 " not in line:
            break
    return process


def test_sigterm_stops_the_run_in_order(tmp_path, tiny_model_path):
    db_path = str(tmp_path / "dashcam.db")
    ini = tmp_path / "run.ini"
    ini.write_text("[run]\nstatus-interval = 0.2\n")
    process = start_run(db_path, tiny_model_path, ini)
    try:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert out.startswith("run 1 (synthetic://")
    with StoreReader(db_path) as reader:
        summary = json.loads(reader.runs()[0]["summary"])
    runs, _ = check_store_after_run(db_path, summary)
    assert summary["frames_processed"] > 0 and runs[0]["source"].startswith("synthetic://")


def test_a_run_killed_outright_is_closed_as_interrupted_at_the_next_start(tmp_path, tiny_model_path,
                                                                         capsys):
    db_path = str(tmp_path / "dashcam.db")
    ini = tmp_path / "run.ini"
    ini.write_text("[run]\nstatus-interval = 0.2\nstats-interval = 0.5\n")
    process = start_run(db_path, tiny_model_path, ini)
    time.sleep(1.0)   # let stats and detection rows land (the run is killed mid-flight)
    process.kill()     # SIGKILL: no handler runs, as with a power cut
    process.communicate(timeout=20)
    with StoreReader(db_path) as reader:
        assert reader.runs()[0]["ended_at"] is None
        last_stats = next(reader.db.query("SELECT max(ts) AS ts FROM stats"))["ts"]
    second = start_run(db_path, tiny_model_path, ini, "--duration", "0.5")
    assert second.wait(timeout=30) == 0
    second.communicate()
    with StoreReader(db_path) as reader:
        assert reader.integrity_check() == "ok"
        first, again = reader.runs()
        assert first["ended_at"] >= last_stats and json.loads(first["summary"])["crashed"]
        assert again["ended_at"] is not None
    from dashcam.cli import main
    assert main(["events", "--db", db_path, "--type", "run_interrupted", "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["run_id"] == first["id"] and row["ts_start"] == first["ended_at"]
    assert row["severity"] == "warning"


def test_preview_writes_a_video_off_the_hot_path(tmp_path, tiny_model_path):
    video = write_video(tmp_path / "clip.mp4", frames=10)
    out = str(tmp_path / "preview.mp4")
    config = make_config(tmp_path, run={"status_interval": 0, "preview_width": 128})
    pipeline = build_pipeline(config, source=video + "?realtime=0",
                              db_path=str(tmp_path / "dashcam.db"), preview=out,
                              model_path=tiny_model_path, status_stream=None)
    summary = pipeline.run()
    preview = pipeline.preview
    assert summary["frames_processed"] == 10
    assert preview.shown + preview.early + preview.skipped in (9, 10)  # one may be in its slot
    frames = read_back(out)
    assert len(frames) == preview.written >= preview.shown >= 1
    assert frames[0].shape[1] == 128 and frames[0].shape[0] == 76  # 96 * 128/160, even


def test_a_preview_file_slow_to_close_is_waited_for_after_the_final_commit(tmp_path, tiny_model_path):
    # A busy machine is simulated by a sink whose close (ffmpeg flushing its
    # encoder) takes 1 s: longer than the preview's old 0.3 s stop budget.
    video = write_video(tmp_path / "clip.mp4", frames=10)
    out = str(tmp_path / "preview.mp4")
    db_path = str(tmp_path / "dashcam.db")
    config = make_config(tmp_path, run={"status_interval": 0, "preview_width": 128})
    pipeline = build_pipeline(config, source=video + "?realtime=0", db_path=db_path, preview=out,
                              model_path=tiny_model_path, status_stream=None)
    sink = pipeline.preview.sink
    real_close = sink.close

    def slow_close():
        time.sleep(1.0)
        real_close()

    sink.close = slow_close
    summary = pipeline.run()
    assert "stuck" not in summary
    with StoreReader(db_path) as reader:
        assert reader.runs()[0]["ended_at"] is not None
    assert len(read_back(out)) == pipeline.preview.written >= 1
