"""The Jetson pipelines with software stand-ins (Debian's GStreamer): ``videotestsrc`` for the
camera, ``videoconvert`` for ``nvvidconv``, ``x264enc`` for ``nvv4l2h264enc``, and the real
``tee``, ``splitmuxsink`` and ``mpegtsmux``. NVIDIA's elements exist only on a Jetson."""

import os
import shutil
import subprocess

import pytest

from dashcam.capture.sources import csi_pipeline
from dashcam.recording.gst import AppsrcEncoder, TeeEncoder, record_branch, tee
from gst_env import import_gst
from recorded import frames

GST_LAUNCH = shutil.which("gst-launch-1.0")


def _elements_present(*names):
    inspect = shutil.which("gst-inspect-1.0")
    return inspect is not None and all(
        subprocess.call([inspect, "--exists", n], stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL) == 0 for n in names)


pytestmark = pytest.mark.skipif(
    GST_LAUNCH is None or not _elements_present("videotestsrc", "x264enc", "h264parse",
                                                "splitmuxsink", "mpegtsmux"),
    reason="GStreamer with its good, bad and ugly plugins is not installed (apt install "
           "gstreamer1.0-tools gstreamer1.0-plugins-good gstreamer1.0-plugins-bad "
           "gstreamer1.0-plugins-ugly)")
av = pytest.importorskip("av", reason="PyAV decodes the segments (no wheel for 3.6)")

from recorded import decode  # noqa: E402

STAND_INS = [("nvarguscamerasrc sensor-id=0", "videotestsrc is-live=true num-buffers=75"),
             ("video/x-raw(memory:NVMM)", "video/x-raw"),
             ("nvvidconv flip-method=0", "videoconvert"),
             ("appsink drop=true max-buffers=1 sync=false", "fakesink sync=false")]


def test_the_csi_capture_pipeline_records_through_its_tee_branch(tmp_path):
    encoder = TeeEncoder(str(tmp_path), segment_seconds=1.0, bitrate=800, platform="standin")
    encoder.run_id = 3
    pipeline = csi_pipeline(0, 320, 240, 30, 0, tee=encoder.tee())
    assert "nvarguscamerasrc" in pipeline and "! tee name=t t. ! queue ! videoconvert" in pipeline
    for jetson, stand_in in STAND_INS:
        assert jetson in pipeline
        pipeline = pipeline.replace(jetson, stand_in)
    result = subprocess.run([GST_LAUNCH, "-e"] + pipeline.split(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, universal_newlines=True, timeout=60)
    assert result.returncode == 0, result.stdout
    # while the camera runs, a segment counts as closed once the next one appears
    closed = encoder.poll(None)
    last = encoder.close()
    assert len(closed) >= 1 and len(last) == 1 and encoder.close() == []
    total = 0
    for segment in closed + last:
        count, _ = decode(str(tmp_path / segment.path))
        assert count == segment.frames and segment.run_id == 3
        assert segment.path.startswith("run-000003/gst-")
        total += count
    assert total == 75
    assert " start-index=3 " in encoder.branch() + " "   # a reopened camera numbers on


def test_record_branch_names_nvidia_elements_on_a_jetson():
    text = record_branch("/rec/run-000001/gst-%05d.ts", 5.0, 4000, 30)
    assert "nvv4l2h264enc bitrate=4000000" in text and "iframeinterval=30" in text
    assert "splitmuxsink name=rec muxer=mpegtsmux" in text and "max-size-time=5000000000" in text
    assert tee("X").startswith("tee name=t t. ! queue ! X t. ! queue leaky=downstream")


def test_the_appsrc_pipeline_reports_each_closed_segment_on_its_bus(tmp_path):
    if import_gst() is None:
        pytest.skip("PyGObject with GStreamer is not importable from this Python "
                    "(apt install python3-gi gir1.2-gstreamer-1.0)")
    encoder = AppsrcEncoder(str(tmp_path), segment_seconds=1.0, bitrate=800, platform="standin")
    encoder.run_id = 4
    closed = []
    for frame in frames(90, width=320, height=180):
        closed.extend(encoder.write(frame))
    closed.extend(encoder.close())
    assert len(closed) >= 3
    assert sum(decode(str(tmp_path / s.path))[0] for s in closed) == 90
    assert all(b.started_at >= a.started_at for a, b in zip(closed, closed[1:]))
    assert abs(closed[-1].ended_at - closed[0].started_at - 3.0) < 0.2
    assert sorted(os.listdir(str(tmp_path / "run-000004"))) == sorted(
        os.path.basename(s.path) for s in closed)
