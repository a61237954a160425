"""The GStreamer pipeline strings that a Jetson runs, checked element by element and property
by property against ``tests/gstreamer_surface.tsv`` for the GStreamer of each JetPack (4.6:
1.14.5, 5.1: 1.16, 6: 1.20) and its NVIDIA elements. An element or property that a JetPack
lacks breaks the whole string there (gst_parse_launch: "no property ... in element"), which
no machine here can show: GStreamer 1.22 has them all.

The strings come from the functions that build them, with the settings a run uses.
"""

import csv
import os
import shlex

import pytest

from dashcam.capture.sources import csi_pipeline
from dashcam.recording.gst import TeeEncoder, appsrc_pipeline

TABLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gstreamer_surface.tsv")
JETPACKS = {"4.6": "1.14.5", "5.1": "1.16", "6": "1.20"}


def read_table():
    with open(TABLE) as handle:
        rows = csv.DictReader([line for line in handle if not line.startswith("#")],
                              delimiter="\t")
        return {(row["element"], row["property"]): row for row in rows}


SURFACE = read_table()


def used(pipeline):
    """``(element, property)`` pairs of a pipeline description; property ``-``: the element
    itself (also for an element named as a property's value, as ``muxer=mpegtsmux``)."""
    found, parts = [], [[]]
    for token in shlex.split(pipeline):   # a quoted value stays one token
        if token == "!":
            parts.append([])
        elif not (token.endswith(".") and token[:-1].isalnum()):   # t.: a pad of tee t
            parts[-1].append(token)
    for tokens in parts:
        if not tokens or "/" in tokens[0]:   # caps, not an element
            continue
        element = tokens[0]
        found.append((element, "-"))
        for token in tokens[1:]:
            key, _, value = token.partition("=")
            found.append(("*" if key == "name" else element, key))
            if (value, "-") in SURFACE:
                found.append((value, "-"))
    return found


def strings(column, folder):
    """The Jetson pipeline strings of a run, as built on the JetPack of ``column``: the
    encoder's ``idrinterval`` is used where gst-inspect-1.0 lists it (the table says where)."""
    idr = SURFACE[("nvv4l2h264enc", "idrinterval")][column] == "y"
    encoder = TeeEncoder(folder, segment_seconds=5.0, bitrate=4000, idr=idr)
    encoder.run_id = 1
    return {
        "csi, recorded, upside down": csi_pipeline(0, 1920, 1080, 30, flip=2, tee=encoder.tee(),
                                                   scale_to=(960, 544)),
        "csi, software recording": csi_pipeline(1, 1280, 720, 60),
        "appsrc (USB, RTSP, files)": appsrc_pipeline(1280, 720, 30, encoder.branch()),
    }


def test_the_parser_sees_every_element_and_property():
    pairs = used('a x=1 name=t ! video/x-raw, format=BGR ! tee name=t t. ! queue ! '
                 'splitmuxsink muxer=mpegtsmux location="/a b!c/%05d.ts" t. ! b')
    assert pairs == [("a", "-"), ("a", "x"), ("*", "name"), ("tee", "-"), ("*", "name"),
                     ("queue", "-"), ("splitmuxsink", "-"), ("splitmuxsink", "muxer"),
                     ("mpegtsmux", "-"), ("splitmuxsink", "location"), ("b", "-")]


@pytest.mark.parametrize("jetpack", sorted(JETPACKS))
def test_every_element_and_property_exists_on_the_jetpack(jetpack, tmp_path):
    column = JETPACKS[jetpack]
    for name, pipeline in strings(column, str(tmp_path)).items():
        for pair in used(pipeline):
            assert pair in SURFACE, "{}: {} is not in {}: add its row, with its source".format(
                name, pair, os.path.basename(TABLE))
            assert SURFACE[pair][column] == "y", "JetPack {} (GStreamer {}) lacks {} {}: {}; {}".format(
                jetpack, column, pair[0], pair[1], SURFACE[pair]["source"], pipeline)


def test_the_table_gives_a_source_and_a_first_version_for_each_row():
    for (element, prop), row in SURFACE.items():
        assert row["source"] and row["since"], (element, prop)
        assert all(row[c] in ("y", "-", "?") for c in JETPACKS.values()), (element, prop)
    # what JetPack 4.6 and 5 lack, on record: start-index (1.18) is not used any more
    assert [SURFACE[("splitmuxsink", "start-index")][c] for c in ("1.14.5", "1.16")] == ["-", "-"]
