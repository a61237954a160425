"""Clip uploads (``dashcam.fleet.upload``): a real store, real segments joined by PyAV, a real
HTTP server on localhost taking the PUT (the decisions: test_fleet_decisions.py)."""

import functools
import hashlib
import os
import threading

import pytest

from dashcam import events as ev
from dashcam.fleet.upload import Uploader, register
from dashcam.store import EventLoggerWorker, StoreReader
from dashcam.store.uploads import upload_summary
from put_server import PutServer
from recorded import T0


av = pytest.importorskip("av", reason="PyAV writes and joins the segments (no wheel for 3.6)")

import test_cli_clips  # noqa: E402

store_with_clip = test_cli_clips.store_with_clip   # the fixture: a store with one clip


class Running:
    """The store's writer and an uploader on it, as the pipeline runs them."""

    def __init__(self, db, rec, tmp_path, **options):
        from dashcam.store import EventStore

        self.results, self.got = [], threading.Event()
        self.store = EventStore(db)
        register(self.store)
        run = self.store.begin_run(T0 + 100, "test")
        self.logger = EventLoggerWorker(self.store, run_id=run).start()
        self.uploader = Uploader(self.logger.submit, functools.partial(StoreReader, db), rec,
                                 str(tmp_path / "uploads"), publish_result=self.publish,
                                 **options).start()

    def publish(self, result):
        self.results.append(result)
        self.got.set()

    def close(self):
        stopped = self.uploader.stop(2.0)
        self.logger.stop(5.0)
        self.store.close()
        return stopped


def rows(db):
    with StoreReader(db) as reader:
        return upload_summary(reader.conn)


def test_an_uploaded_clip_hashes_to_the_published_sha256_and_plays(store_with_clip, tmp_path):
    db, rec, event_id = store_with_clip
    with PutServer() as server:
        running = Running(db, rec, tmp_path)
        url = server.url("/bucket/clip.mp4?X-Amz-Signature=abc")
        assert running.uploader.request(event_id, url, "r-1")
        assert running.got.wait(30)
        assert running.close()
    [result] = running.results
    [(path, body)] = server.bodies
    assert path == "/bucket/clip.mp4?X-Amz-Signature=abc"
    assert result["ok"] and result["request_id"] == "r-1" and result["attempts"] == 1
    assert result["size"] == len(body) and result["sha256"] == hashlib.sha256(body).hexdigest()
    received = tmp_path / "received.mp4"
    received.write_bytes(body)
    with av.open(str(received)) as container:
        assert len(list(container.decode(video=0))) == 90   # T0 + 1 .. T0 + 4 at 30 fps
    summary = rows(db)
    assert summary["states"] == {"done": 1}
    assert summary["recent"][0]["sha256"] == result["sha256"]
    assert os.listdir(str(tmp_path / "uploads")) == []   # the joined clip is not kept


def test_a_failing_server_is_retried_and_a_refusal_is_not(store_with_clip, tmp_path):
    db, rec, event_id = store_with_clip
    with PutServer() as server:
        server.fail = [503, 500]
        running = Running(db, rec, tmp_path, retries=3, retry_interval=0.05)
        running.uploader.request(event_id, server.url("/a.mp4"), "flaky")
        assert running.got.wait(30)
        running.got.clear()
        server.fail = [403]
        running.uploader.request(event_id, server.url("/b.mp4"), "expired")
        assert running.got.wait(30)
        running.close()
    flaky, expired = running.results
    assert flaky["ok"] and flaky["attempts"] == 3 and len(server.bodies) == 1
    assert not expired["ok"] and expired["attempts"] == 1
    assert "403" in expired["error"] and "expired" in expired["error"]
    states = {r["request_id"]: (r["state"], r["attempts"]) for r in rows(db)["recent"]}
    assert states == {"flaky": ("done", 3), "expired": ("failed", 1)}


def test_an_upload_cut_by_a_stop_is_sent_again_at_the_next_start(store_with_clip, tmp_path):
    db, rec, event_id = store_with_clip
    with PutServer() as server:
        # 4 KiB/s: the clip takes seconds, so the stop comes while it is on its way
        first = Running(db, rec, tmp_path, bandwidth=4096)
        first.uploader.request(event_id, server.url("/c.mp4"), "cut")
        assert server.started.wait(30)
        assert first.close()            # stops within its stop-plan time, mid-body
        assert first.results == [] and server.bodies == []
        assert rows(db)["states"] == {"queued": 1}
        second = Running(db, rec, tmp_path)   # the next start: taken up from the store
        assert second.got.wait(30)
        second.close()
    [result] = second.results
    [(_, body)] = server.bodies
    assert result["ok"] and result["request_id"] == "cut"
    assert result["sha256"] == hashlib.sha256(body).hexdigest()
    assert rows(db)["states"] == {"done": 1}


def test_a_foreign_url_or_a_missing_event_fail_with_the_reason(store_with_clip, tmp_path):
    db, rec, event_id = store_with_clip
    with PutServer() as server:
        running = Running(db, rec, tmp_path)
        assert not running.uploader.request(event_id, "file:///etc/passwd", "bad")
        assert not running.uploader.request("seven", server.url("/x.mp4"), "worse")
        assert running.uploader.request(9999, server.url("/x.mp4"), "gone")
        assert wait_until(lambda: len(running.results) == 3)
        running.close()
    bad, worse, gone = running.results
    assert bad["error"] == "refused: not an http:// or https:// URL: file:///etc/passwd"
    assert worse["error"].startswith("refused: invalid literal for int()")
    assert gone["error"].startswith("no event 9999 in ") and gone["attempts"] == 0
    assert server.bodies == []
    assert {r["request_id"]: r["state"] for r in rows(db)["recent"]} == {"gone": "failed"}


def test_requests_beyond_the_queue_wait_in_the_store_and_are_all_sent(store_with_clip,
                                                                      tmp_path):
    db, rec, event_id = store_with_clip
    with PutServer() as server:
        running = Running(db, rec, tmp_path, queue_size=1)
        for n in range(6):   # a burst: the queue takes one, the store keeps the rest
            running.uploader.request(event_id, server.url(f"/burst/{n}.mp4"), f"burst-{n}")
        assert wait_until(lambda: len(running.results) == 6)
        running.close()
    assert running.uploader.dropped >= 4
    assert sorted(r["request_id"] for r in running.results if r["ok"]) == [
        f"burst-{n}" for n in range(6)]
    assert sorted(path for path, _ in server.bodies) == [f"/burst/{n}.mp4" for n in range(6)]
    assert rows(db)["states"] == {"done": 6}


def test_an_event_of_an_auto_type_is_uploaded_to_a_url_the_endpoint_issues(store_with_clip,
                                                                           tmp_path):
    db, rec, event_id = store_with_clip
    with PutServer() as server:
        running = Running(db, rec, tmp_path, endpoint=server.url("/presign"), token="s3cret",
                          device="van-7", auto={ev.OBJECT_APPEARED})
        event = ev.Event(ev.OBJECT_APPEARED, T0 + 5, None, "car", 1, ev.INFO, {})
        running.uploader.on_event((event_id, event))
        running.uploader.on_event((event_id + 1, event._replace(type=ev.CAMERA_LOST)))  # not auto
        assert running.got.wait(30)
        running.close()
    [(headers, request)] = server.posts
    assert request == {"device": "van-7", "event_id": event_id, "kind": "object_appeared"}
    assert headers["Authorization"] == "Bearer s3cret"
    [(path, body)] = server.bodies
    assert path == f"/clips/{event_id}.mp4?X-Sig=abc"
    assert server.headers[0]["x-amz-meta-device"] == "van-7"
    [result] = running.results
    assert result["ok"] and result["source"] == "auto" and result["request_id"] == f"auto-{event_id}"


def wait_until(condition, timeout=30.0):
    from recorded import wait_for
    return wait_for(condition, timeout)
