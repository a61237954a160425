"""Event shapes from tracks and camera state, and the store's time format."""

import pytest

from dashcam import events as ev
from dashcam.errors import DashcamError
from dashcam.records import Detection
from dashcam.timestamps import iso_utc, parse_iso, parse_time
from dashcam.tracking import IouTracker


def test_confirmed_and_ended_tracks_become_object_events():
    tracker = IouTracker(min_hits=2, max_age=0.5)
    out = []
    for frame in range(4):
        t = 1700000000.0 + frame * 0.1
        out += ev.events_from_tracks(tracker.update(
            [Detection(2, "person", 0.6 + frame * 0.1, 10 + frame, 10, 50 + frame, 90)], t, t))
    out += ev.events_from_tracks(tracker.update([], 1700000001.0, 1700000001.0))
    assert [e.type for e in out] == [ev.OBJECT_APPEARED, ev.OBJECT_LEFT]
    appeared, left = out
    assert appeared.track_id == left.track_id == 1 and appeared.label == "person"
    assert appeared.ts_start == 1700000000.0 and appeared.ts_end is None
    # object_left happened when the person was last seen; when it appeared is in its data
    assert left.ts_start == left.ts_end == pytest.approx(1700000000.3)
    assert left.data["first_seen"] == "2023-11-14T22:13:20.000Z"
    assert left.data["frames"] == 4 and left.data["best_confidence"] == pytest.approx(0.9)
    assert ev.CLOSES[left.type] == appeared.type


def test_camera_events_and_json_shape():
    lost = ev.camera_lost(1700000000.0, "v4l2:///dev/video0", "no frame")
    restored = ev.camera_restored(1700000002.5, "v4l2:///dev/video0", lost.ts_start, 3)
    assert lost.severity == ev.WARNING and lost.ts_end is None
    assert restored.data == {"source": "v4l2:///dev/video0", "down_s": 2.5, "attempts": 3}
    assert ev.CLOSES[restored.type] == lost.type
    assert restored.as_dict()["ts_start"] == "2023-11-14T22:13:22.500Z"


def test_timestamps_are_fixed_width_utc_with_milliseconds():
    assert iso_utc(0) == "1970-01-01T00:00:00.000Z"
    assert iso_utc(1700000000.1234) == "2023-11-14T22:13:20.123Z"
    assert iso_utc(1700000000.9996) == "2023-11-14T22:13:21.000Z"
    assert parse_iso("2023-11-14T22:13:20.123Z") == pytest.approx(1700000000.123)
    assert parse_iso("2023-11-14 23:13:20+01:00") == 1700000000.0
    assert parse_iso("2023-11-14") == 1699920000.0
    assert parse_time("15m", now=1000.0) == 100.0
    with pytest.raises(DashcamError, match="ISO-8601"):
        parse_time("yesterday", now=0.0)


def test_each_event_type_is_defined_once_in_events_and_listed_once_in_types():
    """``TYPES`` is declared once, lists each type once, and no other module defines its own
    constant with an event type's name (they import ``events``)."""
    import ast
    import os

    assert len(set(ev.TYPES)) == len(ev.TYPES)
    defined = {v for k, v in vars(ev).items() if k.isupper() and isinstance(v, str)}
    assert set(ev.TYPES) <= defined
    package = os.path.dirname(ev.__file__)
    elsewhere = []
    for folder, _, names in os.walk(package):
        for name in (n for n in names if n.endswith(".py")):
            path = os.path.join(folder, name)
            with open(path) as handle:
                tree = ast.parse(handle.read())
            for node in tree.body:
                targets = [t.id for t in getattr(node, "targets", ()) if isinstance(t, ast.Name)]
                if path == ev.__file__ and "TYPES" in targets:
                    elsewhere.append("TYPES")
                value = getattr(node, "value", None)
                text = (getattr(value, "value", getattr(value, "s", None))   # ast.Str on 3.6, 3.7
                        if type(value).__name__ in ("Constant", "Str") else None)
                if path != ev.__file__ and isinstance(text, str) and text in ev.TYPES:
                    elsewhere.append(f"{path}: {targets}")
    assert elsewhere == ["TYPES"]   # once, in events.py
