"""The Jetson pipelines with software stand-ins (Debian's GStreamer, ``gst_env.stand_in``):
``videotestsrc`` for the camera, ``videoflip``/``videoconvert``/``videoscale`` for
``nvvidconv``, ``x264enc`` for ``nvv4l2h264enc``, and the real ``tee``, ``splitmuxsink`` and
``mpegtsmux``. NVIDIA's elements exist only on a Jetson."""

import os
import shutil
import subprocess

import numpy as np
import pytest

from dashcam.capture.sources import csi_pipeline
from dashcam.recording.build import element_properties
from dashcam.recording.gst import AppsrcEncoder, TeeEncoder, location, record_branch, tee
from gst_env import import_gst, run_pipeline, stand_in
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

def launch(pipeline):
    """Run ``pipeline`` with gst-launch-1.0 to its end (the camera stand-in stops itself)."""
    result = subprocess.run([GST_LAUNCH, "-e"] + pipeline.split(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, universal_newlines=True, timeout=60)
    assert result.returncode == 0, result.stdout


def test_the_csi_capture_pipeline_records_through_its_tee_branch(tmp_path):
    encoder = TeeEncoder(str(tmp_path), segment_seconds=1.0, bitrate=800, platform="standin")
    encoder.run_id = 3
    pipeline = csi_pipeline(0, 320, 240, 30, 0, tee=encoder.tee(), scale_to=(96, 64))
    assert pipeline.startswith("nvarguscamerasrc sensor-id=0 ! video/x-raw(memory:NVMM)")
    assert "NV12 ! tee name=t t. ! queue ! videoconvert" in pipeline
    launch(stand_in(pipeline))
    # while the camera runs, a segment counts as closed once the next one appears
    closed = encoder.poll(None)
    last = encoder.close()
    assert len(closed) >= 1 and len(last) == 1 and encoder.close() == []
    total = 0
    for segment in closed + last:
        count, _ = decode(str(tmp_path / segment.path))
        assert count == segment.frames and segment.run_id == 3
        assert segment.path.startswith("run-000003/gst-0001-")
        total += count
    assert total == 75


def test_a_reopened_camera_writes_files_of_its_own(tmp_path):
    """splitmuxsink numbers from 0 at each start; its start-index (1.18+) is not on JetPack
    4.6 or 5, where a reopened camera overwrote the first segments. Each opening now has
    its own names."""
    encoder = TeeEncoder(str(tmp_path), segment_seconds=1.0, bitrate=800, platform="standin")
    encoder.run_id = 5
    run_dir = tmp_path / "run-000005"
    launch(stand_in(csi_pipeline(0, 160, 96, 30, 0, tee=encoder.tee()), frames=45))
    first = {p.name: p.read_bytes() for p in run_dir.iterdir()}
    launch(stand_in(csi_pipeline(0, 160, 96, 30, 0, tee=encoder.tee()), frames=45))
    after = {p.name: p.read_bytes() for p in run_dir.iterdir()}
    assert all(after[name] == data for name, data in first.items())
    second = sorted(set(after) - set(first))
    assert second and all(name.startswith("gst-0002-") for name in second)
    assert [s.path.split("/")[1] for s in encoder.close()] == sorted(first) + second
    assert sum(decode(str(run_dir / name))[0] for name in after) == 90


def test_a_camera_mounted_upside_down_records_the_picture_turned(tmp_path):
    """flip-method turns the frames before the recording's tee: video and detector see the
    same picture (the tee used to sit before the flip: upside-down evidence)."""
    first = {}
    for flip in (0, 2):
        encoder = TeeEncoder(str(tmp_path / str(flip)), segment_seconds=1.0, bitrate=2000,
                             platform="standin")
        encoder.run_id = 1
        pipeline = csi_pipeline(0, 160, 96, 30, flip, tee=encoder.tee())
        assert flip == 0 or pipeline.index("flip-method") < pipeline.index("tee name=t")
        launch(stand_in(pipeline, frames=15))
        with av.open(os.path.join(encoder.folder, encoder.close()[0].path)) as container:
            first[flip] = next(container.decode(video=0)).to_ndarray(format="rgb24").astype(float)
    turned = np.rot90(first[0], 2)
    assert np.abs(first[2] - turned).mean() < 8 < np.abs(first[2] - first[0]).mean()


def test_a_recordings_folder_with_a_space_a_bang_and_a_percent_sign(tmp_path):
    """The location is quoted in the pipeline string (a space split it, a ``!`` added an
    element) and its ``%`` doubled (splitmuxsink's location is a printf pattern)."""
    Gst = import_gst()
    if Gst is None:
        pytest.skip("PyGObject with GStreamer is not importable from this Python "
                    "(apt install python3-gi gir1.2-gstreamer-1.0)")
    folder = tmp_path / "dash cam!videoconvert %d"
    encoder = TeeEncoder(str(folder), segment_seconds=1.0, bitrate=800, platform="standin")
    encoder.run_id = 2
    text = stand_in(csi_pipeline(0, 160, 96, 30, 2, tee=encoder.tee()), frames=30)
    assert run_pipeline(Gst, text) is None
    segments = encoder.close()
    assert segments and all(os.path.exists(str(folder / s.path)) for s in segments)
    assert sum(decode(str(folder / s.path))[0] for s in segments) == 30
    appsrc = AppsrcEncoder(str(folder), segment_seconds=1.0, bitrate=800, platform="standin")
    appsrc.run_id = 3
    closed = [s for frame in frames(30, width=160, height=96) for s in appsrc.write(frame)]
    closed += appsrc.close()
    assert sum(decode(str(folder / s.path))[0] for s in closed) == 30


def test_the_csi_pipeline_hands_python_bgr_frames_at_the_networks_size():
    """What the appsink gets (the caps JetPack's OpenCV accepts: BGR) once nvvidconv has
    scaled the frames; pulled here with PyGObject, as OpenCV's GStreamer backend would."""
    Gst = import_gst()
    if Gst is None:
        pytest.skip("PyGObject with GStreamer is not importable from this Python")
    text = stand_in(csi_pipeline(0, 1280, 720, 30, 2, scale_to=(960, 544)), frames=3)
    pipeline = Gst.parse_launch(text.replace("fakesink sync=false", "appsink name=sink sync=false"))
    pipeline.set_state(Gst.State.PLAYING)
    try:
        sample = pipeline.get_by_name("sink").emit("pull-sample")
        caps = sample.get_caps().get_structure(0)
        assert (caps.get_value("format"), caps.get_value("width"), caps.get_value("height")) == \
            ("BGR", 960, 544)
        assert sample.get_buffer().get_size() == 960 * 544 * 3
    finally:
        pipeline.set_state(Gst.State.NULL)


def test_record_branch_names_nvidia_elements_on_a_jetson():
    text = record_branch(location("/rec/run-000001", 1), 5.0, 4000, 30)
    assert "nvv4l2h264enc bitrate=4000000" in text and "iframeinterval=30 " in text
    assert text.endswith('location="/rec/run-000001/gst-0001-%05d.ts" max-size-time=5000000000 '
                         "send-keyframe-requests=true")
    assert "idrinterval=30" in text and "idrinterval" not in record_branch("x", 5, 4000, 30, idr=False)
    assert "splitmuxsink name=rec muxer=mpegtsmux" in text and "start-index" not in text
    assert tee("X").startswith("tee name=t t. ! queue ! X t. ! queue leaky=downstream")
    assert location("/a%b", 7) == "/a%%b/gst-0007-%05d.ts"


def test_the_encoder_properties_come_from_gst_inspect():
    found = element_properties("x264enc")
    assert {"key-int-max", "bitrate", "name"} <= found and "idrinterval" not in found
    assert element_properties("no-such-element") == set()
    nvidia = "Element Properties:\n  bitrate             : Set bitrate\n  idrinterval         : IDR\n"
    assert element_properties("nvv4l2h264enc", nvidia) == {"bitrate", "idrinterval"}


def test_the_appsrc_pipeline_reports_each_closed_segment_on_its_bus(tmp_path):
    if import_gst() is None:
        pytest.skip("PyGObject with GStreamer is not importable from this Python "
                    "(apt install python3-gi gir1.2-gstreamer-1.0)")
    encoder = AppsrcEncoder(str(tmp_path), segment_seconds=1.0, bitrate=800, platform="standin")
    encoder.run_id = 4
    closed = []
    for frame in frames(90, width=320, height=180):
        closed.extend(encoder.write(frame))
        # an encoder that falls behind holds two frames, then push-buffer waits
        assert encoder.src.get_property("block") is True
        assert encoder.src.get_property("max-bytes") == 2 * 320 * 180 * 3
    closed.extend(encoder.close())
    assert len(closed) >= 3
    assert sum(decode(str(tmp_path / s.path))[0] for s in closed) == 90
    assert all(b.started_at >= a.started_at for a, b in zip(closed, closed[1:]))
    assert abs(closed[-1].ended_at - closed[0].started_at - 3.0) < 0.2
    assert sorted(os.listdir(str(tmp_path / "run-000004"))) == sorted(
        os.path.basename(s.path) for s in closed)
