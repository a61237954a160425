"""The bundled stand-in model says what it is wherever its detections would be trusted: it was
trained on the synthetic road only, so on a camera or a real video they mean nothing."""

import json
import os
import subprocess
import sys

from dashcam.cli import main
from dashcam.inference.models import standin_warning
from dashcam.paths import default_model_path
from videos import write_video

STANDIN = default_model_path()


def test_only_the_stand_in_on_a_real_source_gets_the_warning():
    for uri in ("csi://0", "v4l2:///dev/video0", "rtsp://cam/1", "/videos/drive.mp4"):
        text = standin_warning(STANDIN, uri)
        assert "synthetic road only" in text and "dashcam model fetch" in text, uri
    for uri in ("synthetic://?seed=7", "SYNTHETIC://", "", None):
        assert standin_warning(STANDIN, uri) is None, uri
    dashcamnet = "/data/engines/dashcamnet_pruned_onnx_v1.0.5/resnet18_dashcamnet_pruned.onnx"
    assert standin_warning(dashcamnet, "csi://0") is None


def dashcam_run(tmp_path, source, duration="20"):
    env = dict(os.environ, DASHCAM_DATA=str(tmp_path / "data"))
    result = subprocess.run(
        [sys.executable, "-m", "dashcam", "run", "--source", source, "--db",
         str(tmp_path / "dashcam.db"), "--duration", duration],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, env=env,
        timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout, result.stderr


def test_a_run_on_a_real_video_warns_once_and_the_summary_repeats_it(tmp_path):
    video = write_video(tmp_path / "drive.avi", frames=10)
    out, err = dashcam_run(tmp_path, video + "?realtime=0")
    assert err.count("synthetic road only") == 1
    assert out.count("warning: the model is the bundled stand-in") == 1
    out, err = dashcam_run(tmp_path, "synthetic://?seed=1&width=160&height=96", duration="1")
    assert "stand-in" not in out + err


def test_the_doctor_says_so_for_a_camera(tmp_path, capsys):
    ini = tmp_path / "dashcam.ini"
    ini.write_text("[source]\nuri = {}\n".format(write_video(tmp_path / "drive.avi")))
    main(["doctor", "--config", str(ini), "--db", str(tmp_path / "none.db"), "--json"])
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)}
    assert checks["model"]["status"] == "warn"
    assert "synthetic road only" in checks["model"]["detail"]
    assert "dashcam model fetch" in checks["model"]["fix"]
