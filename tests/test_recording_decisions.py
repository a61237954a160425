"""Recording's pure decisions: clip windows, retention plans, sizes, encoder choice, resume."""

import pytest

from dashcam import events as ev
from dashcam.board import Board
from dashcam.recording.build import choose_encoder
from dashcam.recording.clips import DEFAULT_CLIPS, ClipKeeper, parse_clips
from dashcam.recording.index import ClipRequest
from dashcam.recording.recorder import can_resume
from dashcam.errors import ConfigError
from dashcam.recording.retention import (DEFAULT_QUOTA, DEFAULT_RESERVE, Bounds, Item, Size,
                                         check_bounds, parse_size, plan, to_bytes)
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


def ids(chosen):
    return [s.id for s in chosen.doomed]


ROOMY = 10 ** 9   # free bytes on a volume with room to spare


def test_retention_meets_the_quota_with_the_oldest_unprotected_segments_and_the_next_one():
    segments = [seg(0, True), seg(1), seg(2, True), seg(3), seg(4)]
    chosen = plan(segments, used=500, free=ROOMY, bounds=Bounds(300, 0, 0), now=100)
    assert ids(chosen) == [1, 3] and chosen.unmet == []
    # room for the segment being written (50 bytes) is kept under the quota too
    chosen = plan(segments, used=500, free=ROOMY, bounds=Bounds(300, 0, 50), now=100)
    assert ids(chosen) == [1, 3, 4]
    chosen = plan(segments, used=500, free=ROOMY, bounds=Bounds(300, 0, 0), now=100,
                  busy={segments[1].path})
    assert ids(chosen) == [3, 4]                      # held by a reader: kept, the next one goes


def test_retention_deletes_nothing_for_a_bound_deleting_cannot_meet():
    # the finding: a 256M reserve on a 30M volume; deleting every segment frees 500 bytes
    segments = [seg(0, True), seg(1), seg(2, True), seg(3), seg(4)]
    chosen = plan(segments, used=500, free=1000, bounds=Bounds(ROOMY, 256 * 2 ** 20, 10), now=0)
    assert ids(chosen) == [] and [b for b, _ in chosen.unmet] == ["reserve"]
    # over the quota by more than the unprotected segments hold: the clips stay, and so
    # does the newest video (deleting it would not meet the quota either)
    chosen = plan(segments, used=500, free=ROOMY, bounds=Bounds(150, 0, 0), now=0)
    assert ids(chosen) == [] and chosen.unmet == [("quota", 350)]


def test_protected_clips_go_only_when_recording_would_stop_oldest_first():
    segments = [seg(0, True), seg(1), seg(2, True), seg(3, True), seg(4)]
    # 150 bytes free, recording needs two segments of 100: the unprotected go first
    chosen = plan(segments, used=500, free=150, bounds=Bounds(ROOMY, 0, 100), now=0)
    assert ids(chosen) == [1] and chosen.unmet == []
    chosen = plan(segments, used=500, free=0, bounds=Bounds(ROOMY, 0, 100), now=0)
    assert ids(chosen) == [1, 4]                      # enough without touching a clip
    chosen = plan(segments, used=500, free=0, bounds=Bounds(ROOMY, 0, 150), now=0)
    assert ids(chosen) == [1, 4, 0]                   # then the oldest clip, and only it
    # the reserve alone never takes a clip
    chosen = plan([seg(0, True), seg(1, True)], used=200, free=500,
                  bounds=Bounds(ROOMY, 1000, 100), now=0)
    assert ids(chosen) == [] and [b for b, _ in chosen.unmet] == ["reserve"]
    # and a volume that even every segment cannot free enough of loses none of them
    chosen = plan(segments, used=500, free=0, bounds=Bounds(ROOMY, 0, 1000), now=0)
    assert ids(chosen) == [] and [b for b, _ in chosen.unmet] == ["reserve", "recording"]


def test_retention_by_age_takes_unprotected_segments_only():
    segments = [seg(0), seg(1, True), seg(2)]
    chosen = plan(segments, used=300, free=ROOMY, bounds=Bounds(ROOMY, 0, 0), now=1000,
                  max_age=990)
    assert ids(chosen) == [0]                         # 5 s old at the end: too old; clip kept
    chosen = plan(segments, used=300, free=50, bounds=Bounds(ROOMY, 200, 0), now=0)
    assert ids(chosen) == [0, 2]                      # the volume is short of its reserve


def test_bounds_a_volume_cannot_meet_are_refused_or_the_default_is_scaled_down():
    mib, segment = 2 ** 20, int(4000 * 125 * 5.0)    # the default bitrate and segment length
    quota, reserve, warning = check_bounds(30 * mib, DEFAULT_QUOTA, DEFAULT_RESERVE, segment,
                                           "/media/video")
    assert quota == DEFAULT_QUOTA and reserve == parse_size("10%")
    assert "default 256M" in warning and "3.0M (10%)" in warning and "24.0M" in warning
    with pytest.raises(ConfigError) as error:         # the user's own: one line, the fix
        check_bounds(30 * mib, DEFAULT_QUOTA, parse_size("100T"), segment, "/media/video")
    assert "[recording] reserve = 100T cannot be met" in str(error.value)
    assert "/media/video holds 30.0M" in str(error.value) and "\n" not in str(error.value)
    with pytest.raises(ConfigError) as error:
        check_bounds(30 * mib, parse_size("1M"), DEFAULT_RESERVE, segment, "/media/video")
    assert "[recording] quota = 1M" in str(error.value)
    assert check_bounds(64 * 1024 * mib, DEFAULT_QUOTA, DEFAULT_RESERVE, segment, "/") == \
        (DEFAULT_QUOTA, DEFAULT_RESERVE, None)        # a card: the defaults as they are


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
