"""Recording: continuous crash-safe video in MPEG-TS segments, indexed in the store; event
clips protected from retention and joined into one MP4; snapshots; retention of video and
of the store's detection rows."""

from dashcam.recording.build import Recording, build_recording
from dashcam.recording.clips import ClipKeeper, ClipPolicy, parse_clips
from dashcam.recording.join import find_clip, hold, write_clip
from dashcam.recording.recorder import RecorderWorker
from dashcam.recording.segments import SegmentClosed, recover

__all__ = ("ClipKeeper", "ClipPolicy", "RecorderWorker", "Recording", "SegmentClosed",
           "build_recording", "find_clip", "hold", "parse_clips", "recover", "write_clip")
