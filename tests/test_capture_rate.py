"""The capture's and inference's frame-rate controls (parking mode's low rate): frames not
wanted are grabbed without decoding (a file) or without drawing (the synthetic road)."""

import numpy as np

from dashcam.capture import open_source
from dashcam.capture.worker import CaptureWorker
from dashcam.inference import InferenceWorker
from dashcam.rate import FrameRate
from dashcam.slot import LatestFrame
from videos import write_video


def test_a_file_skips_a_frame_without_decoding_it_and_ends_alike(tmp_path):
    path = write_video(tmp_path / "clip.mp4", frames=5)
    every = open_source(path + "?realtime=0")
    frames = [every.read() for _ in range(5)]
    every.close()
    source = open_source(path + "?realtime=0")
    assert np.array_equal(source.read(), frames[0])
    assert source.skip() is True and source.skip() is True
    assert np.array_equal(source.read(), frames[3])
    assert source.skip() is True and source.skip() is None and source.read() is None
    source.close()


class Drawn:
    """A synthetic source that counts what it drew and what it let go."""

    def __init__(self, uri):
        self.source = open_source(uri)
        self.drawn = 0

    def __getattr__(self, name):
        return getattr(self.source, name)

    def read(self):
        self.drawn += 1
        return self.source.read()


def test_capture_passes_on_only_what_its_rate_wants_and_draws_nothing_else():
    """The capture's clock is the synthetic world's own time here (frame index / fps), so
    which frames are due is exact: 30 fps capped at 5 is every sixth frame."""
    drawn = Drawn("synthetic://?seed=3&width=128&height=72&fps=30&realtime=0")
    rate = FrameRate(5.0)
    slot, published = LatestFrame(), []
    worker = CaptureWorker("synthetic://", lambda: drawn, slot, lambda event: None,
                           clock=lambda: drawn.index / 30.0, publish=published.append, rate=rate)
    worker.start()
    taken = [slot.get(timeout=10.0) for _ in range(5)]
    worker.stop()
    assert [f.index for f in taken] == [0, 1, 2, 3, 4]                 # the run-wide index
    assert [round(f.t_mono * 30) for f in taken] == [1, 7, 13, 19, 25]  # world frames 0, 6, ...
    assert published[:5] == taken                                      # recording got the same
    # drawn: what it passed on, and the one it read when the stop came
    assert drawn.drawn <= worker.frames + 1 and worker.skipped >= 4 * 5


def test_inference_takes_at_most_its_rate_and_counts_the_rest(tiny_model_path):
    import threading

    from dashcam.config.loader import load_config
    from dashcam.inference.detector import build_detector
    from dashcam.records import Frame
    from dashcam.tracking import IouTracker
    from recorded import wait_for

    detector = build_detector(load_config(None), tiny_model_path)
    records, slot = [], LatestFrame()
    worker = InferenceWorker(slot, detector, IouTracker(), records.append, rate=FrameRate(2.0))
    worker.start()
    image, never = np.zeros((72, 128, 3), np.uint8), threading.Event()
    for i in range(10):               # a second of frames at 10 fps, each taken in turn
        slot.put(Frame(i, image, i / 10.0, 1700000000.0 + i / 10.0, None, None))
        assert slot.wait_free(never)
    assert wait_for(lambda: worker.processed + worker.skipped == 10, timeout=10.0)
    worker.stop()
    detector.close()
    assert [r.frame_index for r in records] == [0, 5] and worker.skipped == 8
