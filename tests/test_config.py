"""Configuration: defaults, our INI, DeepStream nvinfer files, errors, ``config show``, and the
checks ``dashcam run`` makes of alert rules against the model's labels and the source."""

import os
import textwrap

import pytest

from dashcam.capture import expected_frame
from dashcam.cli import main
from dashcam.config import load_config
from dashcam.config.checks import check_rules
from dashcam.errors import ConfigError

# DeepStream's config_infer_primary_dashcamnet.txt for the ONNX model (deepstream_tao_apps' values).
NVINFER = """\
[property]
gpu-id=0
net-scale-factor=0.00392156862745098
onnx-file=../../models/dashcamnet/resnet18_dashcamnet_pruned.onnx
model-engine-file=../../models/dashcamnet/resnet18_dashcamnet_pruned.onnx_b1_gpu0_int8.engine
labelfile-path=labels_dashcamnet.txt
int8-calib-file=../../models/dashcamnet/dashcamnet_int8.txt
infer-dims=3;544;960
uff-input-blob-name=input_1
batch-size=1
process-mode=1
model-color-format=0
## 0=FP32, 1=INT8, 2=FP16 mode
network-mode=1
num-detected-classes=4
interval=0
gie-unique-id=1
output-blob-names=output_bbox/BiasAdd;output_cov/Sigmoid
cluster-mode=2

[class-attrs-all]
pre-cluster-threshold=0.2
topk=20
nms-iou-threshold=0.5

[class-attrs-0]
pre-cluster-threshold=0.4
"""


def write(path, text):
    path.write_text(textwrap.dedent(text))
    return str(path)


def test_defaults_are_deepstreams_dashcamnet_onnx_settings():
    config = load_config()
    assert config.property.cluster_mode == 2
    assert config.property.num_detected_classes == 4
    assert config.labels() == ["car", "bicycle", "person", "road_sign"]
    for class_id in range(4):
        params = config.class_params(class_id)
        assert (params.nms_iou_threshold, params.topk) == (0.5, 20)
        assert params.pre_cluster_threshold == (0.4 if class_id == 0 else 0.2)


def test_deepstream_dashcamnet_file_works_unchanged(tmp_path):
    (tmp_path / "labels_dashcamnet.txt").write_text("car\nbicycle\nperson\nroadsign\n")
    config = load_config(nvinfer_path=write(tmp_path / "config_infer_primary_dashcamnet.txt", NVINFER))
    assert config.property.cluster_mode == 2
    assert config.labels() == ["car", "bicycle", "person", "roadsign"]
    assert config.class_params(0).pre_cluster_threshold == 0.4
    assert config.class_params(3).pre_cluster_threshold == 0.2
    assert config.class_params(3).topk == 20
    # relative paths resolve against the nvinfer file's directory
    assert config.path(config.property.onnx_file) == os.path.normpath(
        str(tmp_path / "../../models/dashcamnet/resnet18_dashcamnet_pruned.onnx"))


def test_nvinfer_file_replaces_the_post_processing_settings(tmp_path):
    ours = write(tmp_path / "dashcam.ini", """\
        [class-attrs-2]
        pre-cluster-threshold = 0.9
        [model]
        intra-op-threads = 2
        """)
    nvinfer = write(tmp_path / "nv.txt", "[property]\ncluster-mode=1\n[class-attrs-all]\neps=0.3\nminBoxes=2\n")
    config = load_config(ours, nvinfer)
    assert config.property.cluster_mode == 1
    assert config.class_params(2).pre_cluster_threshold == 0.2  # ours replaced, not merged
    assert config.class_params(0).eps == 0.3 and config.class_params(0).minboxes == 2.0
    assert config.model.intra_op_threads == 2  # non-nvinfer sections stay ours


def test_our_ini_layers_over_the_defaults(tmp_path):
    config = load_config(write(tmp_path / "d.ini", """\
        [class-attrs-all]
        pre-cluster-threshold = 0.3
        detected-min-w = 8
        [class-attrs-3]
        topk = 5
        [unknown-section]
        whatever = 1
        """))
    assert config.class_params(1).pre_cluster_threshold == 0.3
    assert config.class_params(0).pre_cluster_threshold == 0.4  # car's own override stays
    assert config.class_params(3).topk == 5 and config.class_params(3).detected_min_w == 8


def test_unknown_keys_and_sections_of_our_own_file_warn_with_the_nearest_name(tmp_path, caplog):
    path = write(tmp_path / "d.ini", "[property]\ncluster_mode = 1\n[trackin]\nmin-hits = 2\n"
                                     "[class-attrs-0]\ntopkk = 3\n")
    config = load_config(path)
    assert config.property.cluster_mode == 2 and config.tracking.min_hits == 3
    warnings = sorted(r.getMessage() for r in caplog.records if r.levelname == "WARNING")
    assert warnings == [
        path + ": [class-attrs-0] topkk is not a key of this section, ignored; did you mean topk?",
        path + ": [property] cluster_mode is not a key of this section, ignored; did you mean cluster-mode?",
        path + ": [trackin] is not a dashcam section, ignored; did you mean tracking?",
    ]


def test_a_deepstream_file_keeps_its_other_keys_quiet(tmp_path, caplog):
    caplog.set_level("DEBUG")
    path = write(tmp_path / "nv.txt", "[property]\ngpu-id = 0\nmodel-engine-file = x.engine\n"
                                      "[class-attrs-all]\npre-cluster-threshold = 0.3\n")
    config = load_config(nvinfer_path=path)
    assert config.class_params(0).pre_cluster_threshold == 0.3
    assert not [r for r in caplog.records if r.levelname == "WARNING"]
    assert "gpu-id is not a dashcam key" in caplog.text


@pytest.mark.parametrize("section,key,value,allowed", [
    ("property", "cluster-mode", "0", "1, 2, 3 or 4"),
    ("property", "num-detected-classes", "four", "an integer 1..1000"),
    ("class-attrs-all", "pre-cluster-threshold", "1.5", "a number 0..1"),
    ("class-attrs-1", "topk", "-2", "an integer >= -1"),
    ("model", "backend", "tensorflow", "onnxruntime"),
])
def test_invalid_values_name_file_section_key_and_allowed(tmp_path, section, key, value, allowed):
    path = write(tmp_path / "bad.ini", f"[{section}]\n{key} = {value}\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    message = str(error.value)
    assert "\n" not in message
    for part in (path, f"[{section}]", key, value, allowed):
        assert part in message


def test_bad_class_section_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match=r"\[class-attrs-car\] is not a valid section"):
        load_config(write(tmp_path / "bad.ini", "[class-attrs-car]\ntopk=1\n"))
    with pytest.raises(ConfigError, match="cannot read the configuration file"):
        load_config(str(tmp_path / "missing.ini"))
    with pytest.raises(ConfigError, match="no \\[property\\] section"):
        load_config(nvinfer_path=write(tmp_path / "nv.txt", "[class-attrs-all]\ntopk=1\n"))


def test_config_show_prints_a_valid_ini_that_reads_back_the_same(tmp_path, capsys):
    source = write(tmp_path / "d.ini", "[property]\ncluster-mode = 3\n[class-attrs-2]\neps = 0.25\n")
    assert main(["config", "show", "--config", source]) == 0
    shown = write(tmp_path / "shown.ini", capsys.readouterr().out)
    again = load_config(shown)
    original = load_config(source)
    assert again.property == original.property
    assert again.class_attrs_all == original.class_attrs_all
    assert again.class_attrs == original.class_attrs
    assert again.model == original.model


def test_config_errors_exit_2_with_one_line(tmp_path, capsys):
    path = write(tmp_path / "bad.ini", "[property]\ncluster-mode = 9\n")
    assert main(["config", "show", "--config", path]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cluster-mode" in err


@pytest.mark.parametrize("content, says", [
    ("[run]\n# caf\xe9 au lait\nstatus-interval = 2\n".encode("latin-1"),
     "is not UTF-8 text (byte 11 is 0xe9): save it as UTF-8 text"),
    (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "is not UTF-8 text (byte 0 is 0x89)"),
    (b"[run]\nstatus-interval = 2\n\0\0\0\0", "holds NUL bytes, so it is not a text file"),
])
def test_a_config_file_that_is_not_utf8_text_is_one_line_naming_it(tmp_path, capsys, content,
                                                                   says):
    path = tmp_path / "dashcam.ini"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as error:
        load_config(str(path))
    assert str(error.value).startswith(f"{path}: the configuration file ") and says in str(
        error.value)
    assert main(["config", "show", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and says in err and "Traceback" not in err


def test_a_utf8_file_with_a_byte_order_mark_and_a_binary_label_file(tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_bytes(b"voiture\n\xe9l\xe9phant\n")
    ini = tmp_path / "dashcam.ini"
    ini.write_bytes(f"[property]\nlabelfile-path = {labels}\nnum-detected-classes = 2\n"
                    .encode("utf-8-sig"))   # as Notepad saves it
    config = load_config(str(ini))
    assert config.property.labelfile_path == str(labels)
    with pytest.raises(ConfigError, match=r"labels.txt: the label file \(\[property\] "
                                          r"labelfile-path\) is not UTF-8 text \(byte 8 is 0xe9\)"):
        config.labels()


def test_a_rule_that_can_never_fire_stops_the_run_in_one_line(tmp_path, capsys):
    """``labels = cars`` used to leave the collision warning off without a word."""
    ini = tmp_path / "dashcam.ini"
    ini.write_text("[rule:forward-collision]\nlabels = cars\n")
    assert main(["run", "--config", str(ini), "--db", str(tmp_path / "x.db"),
                 "--duration", "1"]) == 2
    err = capsys.readouterr().err
    assert err == (f"dashcam run: error: {ini}: [rule:forward-collision] labels = cars: cars is "
                   "not a label of the model (its labels: car, bicycle, person, road_sign); the "
                   "rule could never fire (change it, or set enabled = false)\n")
    assert not (tmp_path / "x.db").exists()


def test_the_frame_the_source_gives_and_the_models_labels_decide(tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text("vehicle\npedestrian\n")
    ini = tmp_path / "dashcam.ini"
    ini.write_text(f"[property]\nnum-detected-classes = 2\nlabelfile-path = {labels}\n"
                   "[rule:forward-collision]\nlabels = vehicle\n"
                   "[rule:person-ahead]\nlabels = pedestrian\n[rule:road-sign]\nenabled = false\n"
                   "[rule:near]\nlabels = vehicle\nmin-height = 600px\n")
    config = load_config(str(ini))
    check_rules(config)                                   # a file: its frame is not known
    check_rules(config, *expected_frame("synthetic://?height=720", 1080, 30.0))
    with pytest.raises(ConfigError, match=r"\[rule:near\] min-height = 600px: the frames are "
                                          r"540 pixels high"):
        check_rules(config, *expected_frame("synthetic://?height=540", 1080, 30.0))
    with pytest.raises(ConfigError, match=r"\[rule:forward-collision\] ttc-below = 3.0: .* "
                                          r"gives 2 frames a second"):
        check_rules(config, *expected_frame("v4l2:///dev/video0?fps=2", 1080, 30.0))
    assert expected_frame("csi://0", 720, 60.0) == (720, 60.0)
    assert expected_frame("clip.mp4", 720, 60.0) == (None, None)
    config.property.cluster_mode = 1   # DBSCAN: a confidence is a sum of coverages
    config.instances("rule")["near"].min_confidence = 1.5
    check_rules(config)
    config.property.cluster_mode = 2
    with pytest.raises(ConfigError, match=r"min-confidence = 1.5: .* at most 1 with this "
                                          r"\[property\] cluster-mode"):
        check_rules(config)
