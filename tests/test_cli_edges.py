"""The command line as a user's shell sees it: pipes closed early, bad files, library noise.

Each case runs the real ``dashcam`` in a subprocess (``python -m dashcam``), as
the rough edges show only there: a traceback on a closed pipe, OpenCV's and
FFmpeg's own log lines on stderr.
"""

import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from dashcam import events as ev
from dashcam.store import EventStore

APP = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "app")
T0 = 1700000000.0


def shell(command, cwd):
    """Run ``command`` in sh with ``dashcam`` meaning this checkout's CLI; (rc, out, err)."""
    env = dict(os.environ, PYTHONPATH=APP + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("OPENCV_FFMPEG_LOGLEVEL", None)
    dashcam = f"{sys.executable} -m dashcam"
    result = subprocess.run(command.replace("dashcam ", dashcam + " ", 1), shell=True, cwd=str(cwd),
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True, timeout=120)
    return result.returncode, result.stdout, result.stderr


def test_events_into_a_pipe_closed_early_stop_quietly(tmp_path):
    db = str(tmp_path / "dashcam.db")
    with EventStore(db) as store:
        run = store.begin_run(T0, "0.1.0")
        store.write(run, [ev.camera_lost(T0 + i, "csi://0", "x" * 80) for i in range(5000)])
    rc, out, err = shell(f"dashcam events --db {db} --csv | head -3",
                         tmp_path)
    assert len(out.splitlines()) == 3 and err == ""


def test_detect_into_a_pipe_closed_early_stops_quietly(tmp_path, tiny_model_path):
    images = []
    for i in range(3):
        images.append(str(tmp_path / f"{i}.png"))
        cv2.imwrite(images[-1], np.zeros((544, 960, 3), np.uint8))
    rc, out, err = shell("dashcam detect {} --model {} | head -1".format(
        " ".join(images), tiny_model_path), tmp_path)
    assert out.splitlines() == [images[0] + ": 0 detection(s)"] and err == ""


def test_run_on_a_file_no_decoder_opens_exits_2_with_one_line_and_no_library_noise(tmp_path):
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"\0" * 64)
    rc, out, err = shell("dashcam run --source junk.png --db x.db", tmp_path)
    assert rc == 2 and out == ""
    assert err.splitlines() == ["dashcam run: error: cannot decode video file junk.png: no decoder "
                                "of this OpenCV reads it (is it a video? `ffprobe junk.png` tells)"]
    assert not (tmp_path / "x.db").exists()


@pytest.mark.parametrize("duration", ["-1", "0", "soon"])
def test_run_refuses_a_duration_that_is_not_a_positive_number(tmp_path, duration):
    rc, out, err = shell(f"dashcam run --duration {duration}", tmp_path)
    assert rc == 2 and "--duration: expected a number of seconds above 0" in err


def test_run_with_a_preview_name_no_writer_takes_exits_2_in_one_line_before_running(tmp_path):
    rc, out, err = shell("dashcam run --preview x.txt --duration 3 --db x.db", tmp_path)
    assert rc == 2 and out == ""
    assert err.splitlines() == ["dashcam run: error: --preview x.txt: not a video file name; "
                                "give one ending in .mp4, .mkv, .avi, .mov (or window)"]


def on_a_terminal(args, cwd):
    """Run ``dashcam args`` with stderr on a pseudo-terminal and stdout piped:
    (rc, stdout, what the terminal showed, its CR LF read back as LF)."""
    import pty

    env = dict(os.environ, PYTHONPATH=APP + os.pathsep + os.environ.get("PYTHONPATH", ""))
    master, slave = pty.openpty()
    try:
        process = subprocess.Popen([sys.executable, "-m", "dashcam"] + args, cwd=str(cwd),
                                   env=env, stdout=subprocess.PIPE, stderr=slave)
        os.close(slave)
        shown = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:   # EIO: the command's end of the terminal is closed
                break
            if not chunk:
                break
            shown += chunk
        out = process.stdout.read().decode()
        process.stdout.close()
        rc = process.wait(120)
    finally:
        os.close(master)
    return rc, out, shown.decode().replace("\r\n", "\n")


SYNTH = ["synth", "--frames", "5", "--width", "128", "--height", "72", "--out", "set"]


def test_synth_and_evaluate_show_progress_on_a_terminal(tmp_path, tiny_model_path):
    rc, out, shown = on_a_terminal(SYNTH, tmp_path)
    assert rc == 0 and out.startswith("synth: 5 frames (128x72, seed 0) to set")
    assert shown.startswith("\r") and shown.endswith("\r100% 5 of 5: frames\n")
    rc, out, shown = on_a_terminal(["evaluate", "--images", "set/images", "--labels",
                                    "set/labels", "--model", tiny_model_path], tmp_path)
    assert rc == 0 and out.startswith("5 images\n")
    assert "\r  0% 0 of 5: images" in shown and shown.endswith("\r100% 5 of 5: images\n")


def test_synth_and_evaluate_print_no_progress_into_a_pipe(tmp_path, tiny_model_path):
    rc, out, err = shell("dashcam " + " ".join(SYNTH), tmp_path)
    assert rc == 0 and err == ""
    rc, out, err = shell("dashcam evaluate --images set/images --labels set/labels --model "
                         + tiny_model_path, tmp_path)
    assert rc == 0 and out.startswith("5 images\n") and err == ""
