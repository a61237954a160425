"""The inference worker's step on a real ONNX Runtime session (the tiny colour model)."""

import threading

import cv2
import numpy as np

from dashcam import events as ev
from dashcam.config import load_config
from dashcam.fanout import FanOut, Subscriber
from dashcam.inference import InferenceWorker, PreprocessAhead, build_detector
from dashcam.inference.preprocess import Preprocessor
from dashcam.records import Frame
from dashcam.tracking import IouTracker


def red_square_frame(x):
    """A 1920x1080 frame, black but for a red square: colour_model sees a car there."""
    image = np.zeros((1080, 1920, 3), np.uint8)
    image[400:560, x:x + 160] = (0, 0, 255)
    return image


def test_prepared_ahead_or_not_the_step_gives_the_same_objects(tiny_model_path):
    detector = build_detector(load_config(), tiny_model_path)
    ahead = PreprocessAhead(detector.new_preprocessor)
    results = {}
    for mode in ("inline", "ahead"):
        records = []
        worker = InferenceWorker(None, detector, IouTracker(min_hits=2), records.append)
        for i in range(4):
            image = red_square_frame(800)
            prepared = ahead(image) if mode == "ahead" else None
            worker.process(Frame(i, image, i / 30.0, 1000.0 + i / 30.0, prepared))
        worker.finish()
        results[mode] = records
        assert worker.processed == 4
    inline, prepared = results["inline"], results["ahead"]
    assert [r.detections for r in inline] == [r.detections for r in prepared]
    assert inline[0].detections and {d.label for d in inline[0].detections} == {"car"}
    types = [e.type for r in inline for e in r.events]
    assert types.count(ev.OBJECT_APPEARED) == types.count(ev.OBJECT_LEFT) >= 1
    # the same objects in the same place keep their track ids
    assert inline[0].track_ids == inline[3].track_ids
    # the final flush is events and track rows only
    assert inline[-1].frame_index is None and all(t["ended"] for t in inline[-1].tracks)
    detector.close()


def test_a_frame_scaled_on_the_vic_gives_the_detections_of_the_full_frame(tiny_model_path):
    """A CSI camera's frames come scaled to the network's input (nvvidconv; cv2.resize stands
    in for it here) with the camera's size on the Frame: the network sees the same input,
    and boxes, tracks and alerts measure in the camera's pixels, as for the full frame."""
    detector = build_detector(load_config(), tiny_model_path)
    full = red_square_frame(800)
    small = cv2.resize(full, (960, 544), interpolation=cv2.INTER_LINEAR)
    ahead = PreprocessAhead(detector.new_preprocessor)
    records = {}
    for name, image, size in [("full", full, None), ("bgr", small, (1920, 1080)),
                              ("bgrx", cv2.cvtColor(small, cv2.COLOR_BGR2BGRA), (1920, 1080))]:
        for prepared in (None, ahead(image, (), size)):
            found = []
            worker = InferenceWorker(None, detector, IouTracker(min_hits=1), found.append)
            worker.process(Frame(0, image, 0.0, 1000.0, prepared, size))
            records[name, prepared is None] = found[0]
    first = records["full", True]
    assert first.detections and first.frame_size == (1920, 1080)
    for record in records.values():
        assert record.detections == first.detections and record.frame_size == (1920, 1080)
    detector.close()


def test_preprocess_takes_bgrx_as_bgr_and_measures_in_the_size_given():
    image = np.random.RandomState(1).randint(0, 256, (544, 960, 3)).astype(np.uint8)
    bgr = Preprocessor(544, 960)(image).copy()
    bgrx = Preprocessor(544, 960)
    assert np.array_equal(bgrx(cv2.cvtColor(image, cv2.COLOR_BGR2BGRA), (1920, 1080)), bgr)
    assert (bgrx.scale_x, bgrx.scale_y) == (2.0, 1080 / 544.0)
    full = red_square_frame(800)   # resized first, from four channels as from three
    assert np.array_equal(bgrx(cv2.cvtColor(full, cv2.COLOR_BGR2BGRA)), Preprocessor(544, 960)(full))


def test_preprocess_ahead_never_writes_a_buffer_that_a_frame_still_holds():
    ahead = PreprocessAhead(lambda: Preprocessor(32, 64))
    image = np.zeros((64, 128, 3), np.uint8)
    first = Frame(0, image, 0.0, 0.0, ahead(image))
    second = Frame(1, image, 0.0, 0.0, ahead(image, [first]))
    third = ahead(image, [second, first])
    blobs = {id(first.prepared.blob), id(second.prepared.blob), id(third.blob)}
    assert len(blobs) == 3
    # once the first frame is let go, its buffer is used again
    assert ahead(image, [Frame(2, image, 0.0, 0.0, third), second]).blob is first.prepared.blob
    assert third.scale_x == 2.0 and third.seconds >= 0.0


def test_frame_subscribers_get_each_record_as_it_leaves_and_never_hold_inference(tiny_model_path):
    detector = build_detector(load_config(), tiny_model_path)
    release = threading.Event()
    seen = []
    hung = Subscriber("hung-alerts", lambda record: release.wait(10.0), queue_size=1)
    listener = Subscriber("alerts", seen.append)
    records = []
    worker = InferenceWorker(None, detector, IouTracker(min_hits=1), records.append,
                             publish=FanOut([hung, listener]))
    hung.start()
    listener.start()
    for i in range(10):
        worker.process(Frame(i, red_square_frame(800), i / 30.0, 1000.0 + i / 30.0))
    assert len(records) == 10            # inference went on while "hung-alerts" was stuck
    release.set()
    assert hung.stop(5.0) and listener.stop(5.0)
    assert hung.dropped >= 8 and hung.handled + hung.dropped == 10
    assert [r.frame_index for r in seen] == list(range(10))
    assert seen[0].detections and seen[0].track_ids == records[0].track_ids
    detector.close()
