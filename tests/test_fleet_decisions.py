"""The uploads' decisions as pure functions, no threads, clocks or files: the pacing that keeps
the bandwidth cap, the retry backoff, when an event's clip is complete (these run on 3.6 too;
the cap itself is measured by bench/bench_upload.py)."""

from dashcam.fleet.transfer import chunk_size, pace_delay, retry_delay
from dashcam.fleet.upload import GRACE_S, clip_ready
from recorded import T0


def test_the_pacing_keeps_a_transfer_within_the_cap():
    rate, size, clock, sent = 50000, 1000000, 0.0, 0
    step = chunk_size(rate)
    assert step == 5000   # a tenth of a second's worth
    while sent < size:
        clock += pace_delay(sent, clock, rate)   # as put_file waits before each chunk
        assert sent <= rate * clock + 1e-6
        sent += step
        clock += 0.001   # the send itself
    assert abs(sent / clock - rate) / rate < 0.02   # and it does not go much slower either
    assert pace_delay(10 ** 9, 0.0, 0) == 0.0 and chunk_size(0) == 64 * 1024
    assert chunk_size(1000) == 4096 and chunk_size(10 ** 9) == 64 * 1024


def test_retries_wait_twice_as_long_each_time_up_to_the_cap():
    assert [retry_delay(n, 10.0) for n in (1, 2, 3, 4)] == [10.0, 20.0, 40.0, 80.0]
    assert retry_delay(12, 10.0) == 600.0


def test_a_clip_is_ready_once_its_segments_reach_its_end_or_recording_has_stopped():
    end = T0 + 20
    assert not clip_ready(end, T0 + 18, T0 + 10, now=end + 1)          # still recording
    assert clip_ready(end, T0 + 22, T0 + 10, now=end + 1)              # covered
    assert clip_ready(end, T0 + 18, T0 + 10, now=end + GRACE_S)       # what there is
    assert not clip_ready(None, None, T0 + 10, now=T0 + 11)            # no clip rows yet
    assert clip_ready(None, None, T0 + 10, now=T0 + 10 + GRACE_S)     # none will come
