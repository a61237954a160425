"""Engine naming, sidecars, the rebuild decision, precision by board and DeepStream's keys.

Pure decisions and real files; no TensorRT needed.
"""

import json
import os
import textwrap

import pytest

from dashcam.board import Board
from dashcam.config import load_config
from dashcam.errors import EngineError
from dashcam.inference.engine import sidecar
from dashcam.inference.engine.resolve import (choose_path, decide, resolve_precision,
                                              settings_from_config)

WANTED = sidecar.expected("ab" * 32, "fp16", "8.6.1", "gpu0", "NVIDIA Jetson Orin Nano Developer Kit")


def test_engines_are_named_as_deepstream_names_them():
    assert sidecar.engine_name("/m/resnet18_dashcamnet_pruned.onnx", "int8", "gpu0") == \
        "resnet18_dashcamnet_pruned.onnx_b1_gpu0_int8.engine"
    assert sidecar.engine_name("m.onnx", "fp16", "dla1") == "m.onnx_b1_dla1_fp16.engine"


@pytest.mark.parametrize("key,value,words", [
    ("onnx_sha256", "cd" * 32, "ONNX file (SHA-256) differs: built with cdcdcdcdcdcd, wanted abababababab"),
    ("precision", "int8", "precision differs: built with int8, wanted fp16"),
    ("tensorrt", "8.5.2", "TensorRT version differs: built with 8.5.2, wanted 8.6.1"),
    ("device", "dla0", "GPU or DLA core differs: built with dla0, wanted gpu0"),
    ("device_model", "NVIDIA Jetson AGX Orin", "device differs: built with NVIDIA Jetson AGX Orin"),
    ("format", 0, "sidecar format differs"),
])
def test_any_difference_in_what_an_engine_was_built_from_or_for_is_named(key, value, words):
    found = dict(WANTED, **{key: value})
    assert words in sidecar.mismatch(found, WANTED)
    assert sidecar.mismatch(dict(WANTED, built_at="2026-01-01", build_s=3.0), WANTED) is None


def test_the_decision_builds_unless_a_sidecar_matches():
    assert decide("e", False, None, WANTED) == ("build", "no engine at e yet")
    assert decide("e", True, None, WANTED) == ("build", "e has no sidecar: not loaded blindly")
    action, reason = decide("e", True, dict(WANTED, tensorrt="10.3.0"), WANTED)
    assert action == "build" and "TensorRT version differs" in reason
    assert decide("e", True, dict(WANTED), WANTED) == ("load", "e matches (TensorRT 8.6.1, gpu0, fp16)")


def test_calibration_only_counts_for_int8_engines():
    int8 = sidecar.expected("ab", "int8", "8.6.1", "gpu0", "x", calib_sha256="11")
    fp16 = sidecar.expected("ab", "fp16", "8.6.1", "gpu0", "x", calib_sha256="11")
    assert int8["calib_sha256"] == "11" and fp16["calib_sha256"] is None


def test_a_new_build_never_leaves_an_old_sidecar_beside_it(tmp_path):
    engine = str(tmp_path / "m.engine")
    sidecar.write_engine(engine, b"plan 1", dict(WANTED))
    assert sidecar.read_sidecar(engine) == WANTED
    with open(sidecar.sidecar_path(engine), "w") as handle:
        handle.write("{not json")
    assert sidecar.read_sidecar(engine) is None
    sidecar.write_engine(engine, b"plan 2", dict(WANTED, precision="int8"))
    assert open(engine, "rb").read() == b"plan 2" and sidecar.read_sidecar(engine)["precision"] == "int8"
    assert sorted(os.listdir(str(tmp_path))) == ["m.engine", "m.engine.json"]


def test_auto_runs_int8_only_once_a_calibration_cache_exists(tmp_path):
    xavier = Board("NVIDIA Jetson Xavier NX Developer Kit")
    precision, reason = resolve_precision("auto", xavier, None)
    assert precision == "fp16" and "dashcam calibrate" in reason
    cache = tmp_path / "c.txt"
    cache.write_text("TRT-8601-EntropyCalibration2\n")
    assert resolve_precision("auto", xavier, str(cache))[0] == "int8"
    assert resolve_precision("auto", xavier, None, calibrating=True)[0] == "int8"
    assert resolve_precision("fp32", xavier, None) == ("fp32", "FP32 as configured")
    with pytest.raises(EngineError, match="INT8 needs a calibration cache: .*missing.txt not found"):
        resolve_precision("int8", xavier, str(tmp_path / "missing.txt"))


def test_a_deepstream_file_drives_the_engine_settings_unchanged(tmp_path):
    folder = tmp_path / "configs"
    folder.mkdir()
    path = folder / "config_infer_primary_dashcamnet.txt"
    path.write_text(textwrap.dedent("""\
        [property]
        gpu-id=0
        onnx-file=../models/resnet18_dashcamnet_pruned.onnx
        model-engine-file=../models/resnet18_dashcamnet_pruned.onnx_b1_dla1_int8.engine
        int8-calib-file=../models/dashcamnet_int8.txt
        batch-size=4
        network-mode=1
        enable-dla=1
        use-dla-core=1
        workspace-size=256
        """))
    config = load_config(nvinfer_path=str(path))
    models = str(tmp_path / "models")
    settings = settings_from_config(config, config.property.onnx_file)
    assert settings.onnx == os.path.join(models, "resnet18_dashcamnet_pruned.onnx")
    assert (settings.precision, settings.dla_core, settings.workspace_mb) == ("int8", 1, 256)
    assert settings.calib_cache == os.path.join(models, "dashcamnet_int8.txt")
    assert settings.engine_file == os.path.join(models, "resnet18_dashcamnet_pruned.onnx_b1_dla1_int8.engine")
    assert config.property.batch_size == 4   # taken as 1 when a backend is built (a warning says so)
    flags = settings_from_config(config, "m.onnx", precision="fp16", dla_core=0, workspace_mb=64)
    assert (flags.precision, flags.dla_core, flags.workspace_mb) == ("fp16", 0, 64)


def test_network_mode_defaults_to_by_device_and_dla_to_off():
    settings = settings_from_config(load_config(), "m.onnx")
    assert (settings.precision, settings.dla_core, settings.workspace_mb) == ("auto", None, 512)
    assert settings.engine_dir.endswith(os.path.join("dashcam", "engines"))


def test_a_foreign_engine_file_is_left_alone_and_the_engine_built_in_the_cache(tmp_path):
    settings = settings_from_config(load_config(), "m.onnx", engine_file=str(tmp_path / "ds.engine"))
    settings = settings._replace(engine_dir=str(tmp_path / "cache"))
    assert choose_path(settings, "m.engine") == (str(tmp_path / "ds.engine"), "")
    (tmp_path / "ds.engine").write_bytes(b"DeepStream's own engine")
    path, note = choose_path(settings, "m.engine")
    assert path == str(tmp_path / "cache" / "m.engine") and "has no dashcam sidecar" in note
    sidecar.write_engine(str(tmp_path / "ds.engine"), b"ours", dict(WANTED))
    assert choose_path(settings, "m.engine")[0] == str(tmp_path / "ds.engine")
    assert json.loads((tmp_path / "ds.engine.json").read_text())["precision"] == "fp16"


def test_a_long_build_says_it_is_still_working_until_it_ends():
    import threading

    from dashcam.inference.engine.build import BuildProgress

    lines, said, kept = [], threading.Event(), []
    ticks = iter(range(0, 1000, 15))
    progress = BuildProgress("FP16 gpu0 engine for m.onnx", lambda line: lines.append(line) or said.set(),
                             interval=0.01, clock=lambda: next(ticks),
                             keep_alive=lambda: kept.append(1)).start()
    assert said.wait(5)
    assert progress.stop(1.0)
    assert len(kept) == len(lines) + 1   # at once, then with every line (systemd's start timeout)
    assert lines[0] == "building FP16 gpu0 engine for m.onnx: 15 s so far (minutes on a Jetson Nano)"
