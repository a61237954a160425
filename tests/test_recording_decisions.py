"""Recording's pure decisions: clip windows, retention plans, sizes, encoder choice, resume."""

import pytest

from dashcam import events as ev
from dashcam.board import Board
from dashcam.recording.build import choose_encoder
from dashcam.recording.clips import DEFAULT_CLIPS, ClipKeeper, parse_clips
from dashcam.recording.index import ClipRequest
from dashcam.recording.recorder import can_resume
from dashcam.recording.retention import Item, Size, parse_size, plan, to_bytes
from dashcam.recording.software import output_size

T = 1700000000.0


def test_clip_policy_covers_any_type_by_name_with_overrides_and_exclusions():
    policy = parse_clips("*, -object_appeared, alert=15/30, camera_lost", pre=10, post=5)
    assert policy.roll("alert") == (15.0, 30.0)          # a type that does not exist yet
    assert policy.roll("camera_lost") == (10, 5)
    assert policy.roll("object_appeared") is None        # the parked car
    assert policy.roll("anything_else") == (10, 5)       # '*'
    assert policy.roll("object_left") is None            # closes object_appeared: no clip of its own
    only = parse_clips("alert")
    assert only.roll("alert") == (10.0, 10.0) and only.roll("camera_lost") is None
    default = parse_clips(DEFAULT_CLIPS)
    assert default.roll("run_started") is None and default.roll("object_appeared") is None
    assert default.roll("alert") == default.roll("camera_lost") == (10.0, 10.0)


@pytest.mark.parametrize("text", ["alert=15", "alert=a/b", "alert=-1/2", "not a type", "=1/2"])
def test_a_bad_clip_token_is_named(text):
    with pytest.raises(ValueError) as error:
        parse_clips(text)
    assert text.split(",")[0].strip() in str(error.value)


def test_an_open_event_is_protected_open_then_closed_by_the_event_that_ends_it():
    keeper = ClipKeeper(parse_clips("*", pre=10, post=5))
    appeared = ev.Event(ev.OBJECT_APPEARED, T, None, "car", 7, ev.INFO, {})
    assert keeper.requests(1, appeared) == [ClipRequest(1, T - 10, None)]
    other = ev.Event(ev.OBJECT_LEFT, T + 3, T + 3, "car", 8, ev.INFO, {})
    assert keeper.requests(2, other) == []                 # another track: nothing open
    left = ev.Event(ev.OBJECT_LEFT, T + 20, T + 20, "car", 7, ev.INFO, {})
    assert keeper.requests(3, left) == [ClipRequest(1, T - 10, T + 25)]
    assert keeper.requests(4, left) == []                  # closed once
    lost = ev.camera_lost(T, "csi://0", "gone")
    restored = ev.camera_restored(T + 60, "csi://0", T, 3)
    assert keeper.requests(5, lost) == [ClipRequest(5, T - 10, None)]
    assert keeper.requests(6, restored) == [ClipRequest(5, T - 10, T + 65)]
    stamped = ev.run_interrupted(T, 1)                     # closed when written
    assert keeper.requests(7, stamped) == [ClipRequest(7, T - 10, T + 5)]


def seg(i, protected=False, size=100, start=0.0):
    return Item(i, f"run-000001/{i}.ts", start + 5 * i, start + 5 * i + 5, size, protected)


def test_retention_deletes_the_oldest_unprotected_first_and_protected_only_when_needed():
    segments = [seg(0, True), seg(1), seg(2, True), seg(3), seg(4)]
    doomed, missing = plan(segments, used=500, quota=300, free=10 ** 9, reserve=0, now=100)
    assert [s.id for s in doomed] == [1, 3] and missing == 0
    doomed, missing = plan(segments, used=500, quota=50, free=10 ** 9, reserve=0, now=100)
    assert [s.id for s in doomed] == [1, 3, 4, 0, 2] and missing == 0
    assert [s.id for s in doomed if s.protected] == [0, 2]
    doomed, missing = plan(segments, used=500, quota=0, free=10 ** 9, reserve=0, now=100,
                           busy={segments[1].path})
    assert 1 not in [s.id for s in doomed] and missing == 100      # held by a reader: kept


def test_retention_by_age_and_by_free_space():
    segments = [seg(0), seg(1, True), seg(2)]
    doomed, _ = plan(segments, used=300, quota=10 ** 9, free=10 ** 9, reserve=0, now=1000,
                     max_age=990)
    assert [s.id for s in doomed] == [0]            # 5 s old at the end: too old; protected kept
    doomed, _ = plan(segments, used=300, quota=10 ** 9, free=50, reserve=200, now=0)
    assert [s.id for s in doomed] == [0, 2]         # the volume is short of its reserve


def test_sizes_parse_and_print_as_written():
    assert parse_size("80%") == Size("percent", 80.0) and str(parse_size("80%")) == "80%"
    assert parse_size("500M") == Size("bytes", 500 * 1024 ** 2) and str(parse_size("500M")) == "500M"
    assert parse_size("1.5G").value == int(1.5 * 1024 ** 3) and parse_size("123").value == 123
    assert to_bytes(parse_size("50%"), 1000) == 500 and to_bytes(parse_size("2K"), 10) == 2048
    for bad in ("lots", "120%", "-1G", "5X"):
        with pytest.raises(ValueError):
            parse_size(bad)


def test_encoder_choice():
    xavier, nano = Board("NVIDIA Jetson Xavier NX Developer Kit"), Board("NVIDIA Jetson Nano")
    pc = Board("")
    assert choose_encoder("auto", "csi://0", True, xavier) == "tee"
    assert choose_encoder("auto", "CSI://0", True, xavier) == "tee"
    assert choose_encoder("auto", "v4l2:///dev/video0", True, nano) == "appsrc"
    assert choose_encoder("auto", "csi://0", True, Board("NVIDIA Jetson Orin Nano Developer Kit")) \
        == "software"                                     # no NVENC on the Orin Nano
    assert choose_encoder("auto", "csi://0", False, pc) == "software"
    assert choose_encoder("auto", "v4l2:///dev/video0", True, pc) == "appsrc"   # a dGPU's NVENC
    assert choose_encoder("software", "csi://0", True, xavier) == "software"
    assert choose_encoder("hardware", "clip.mp4", False, pc) == "appsrc"


def test_resume_needs_room_for_two_segments_and_a_pause():
    assert not can_resume(free=3000, segment_bytes=2000, paused_for=10, retry_after=2)
    assert not can_resume(free=5000, segment_bytes=2000, paused_for=1, retry_after=2)
    assert can_resume(free=5000, segment_bytes=2000, paused_for=3, retry_after=2)


def test_output_size_keeps_the_aspect_and_is_even():
    assert output_size(1920, 1080) == (1920, 1080)
    assert output_size(1920, 1080, width=1280) == (1280, 720)
    assert output_size(161, 97) == (160, 96)
    assert output_size(1920, 1080, height=541) == (960, 540)


def test_catch_up_requests_the_clips_a_stopped_or_crashed_run_did_not_store():
    from dashcam.recording.clips import catch_up
    policy = parse_clips("*, -run_stopped", pre=10, post=5)
    events = [(1, "object_appeared", T, T + 3), (2, "run_stopped", T + 4, T + 4),
              (3, "camera_lost", T + 2, None), (4, "object_left", T + 3, T + 3)]
    assert catch_up(events, policy) == [ClipRequest(1, T - 10, T + 8),
                                        ClipRequest(3, T - 8, None)]
