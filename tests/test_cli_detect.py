"""``dashcam detect`` end to end on a real ONNX graph whose outputs are known."""

import json

import cv2
import numpy as np
import pytest

from dashcam.cli import main
from onnx_models import decoded_cell_box


def paint(path, height=544, width=960, cells=(), colour=(0, 0, 255)):
    """A black image with whole 16x16 grid cells (network pixels) painted; returns the path."""
    image = np.zeros((height, width, 3), np.uint8)
    sy, sx = height / 544.0, width / 960.0
    for gx, gy in cells:
        image[int(gy * 16 * sy):int((gy + 1) * 16 * sy), int(gx * 16 * sx):int((gx + 1) * 16 * sx)] = colour
    cv2.imwrite(str(path), image)
    return str(path)


def run_json(capsys, args):
    assert main(args) == 0
    return json.loads(capsys.readouterr().out)


def test_one_red_cell_is_one_car_at_the_decoded_box(tmp_path, capsys, tiny_model_path):
    image = paint(tmp_path / "one.png", cells=[(20, 10)])
    result = run_json(capsys, ["detect", image, "--model", tiny_model_path, "--json"])
    assert len(result) == 1
    assert result[0]["label"] == "car" and result[0]["class_id"] == 0
    assert result[0]["confidence"] > 0.99
    assert result[0]["bbox"] == pytest.approx(decoded_cell_box(20, 10), abs=0.05)


def test_boxes_are_in_source_pixels(tmp_path, capsys, tiny_model_path):
    image = paint(tmp_path / "hd.png", height=1080, width=1920, cells=[(20, 10)], colour=(0, 255, 0))
    [det] = run_json(capsys, ["detect", image, "--model", tiny_model_path, "--json"])
    x1, y1, x2, y2 = decoded_cell_box(20, 10)
    assert det["label"] == "bicycle"
    assert det["bbox"] == pytest.approx([x1 * 2, y1 * 1080 / 544, x2 * 2, y2 * 1080 / 544], abs=0.1)


def test_nms_keeps_one_box_per_overlapping_block_and_topk_applies(tmp_path, capsys, tiny_model_path):
    # a 3x3 block of red cells gives 9 equal 70x70 candidates 16 px apart;
    # NMS at IoU 0.5 keeps the first (top-left) and the ones far enough from it
    image = paint(tmp_path / "block.png", cells=[(x, y) for x in range(30, 33) for y in range(10, 13)])
    dets = run_json(capsys, ["detect", image, "--model", tiny_model_path, "--json"])
    assert dets[0]["bbox"] == pytest.approx(decoded_cell_box(30, 10), abs=0.05)
    ini = tmp_path / "top1.ini"
    ini.write_text("[class-attrs-0]\ntopk = 1\n")
    assert len(run_json(capsys, ["detect", image, "--model", tiny_model_path, "--config", str(ini), "--json"])) == 1


def test_several_images_map_path_to_array_and_draw(tmp_path, capsys, tiny_model_path):
    first = paint(tmp_path / "a.png", cells=[(5, 5)], colour=(255, 0, 0))
    second = paint(tmp_path / "b.png")
    out = tmp_path / "drawn"
    result = run_json(capsys, ["detect", first, second, "--model", tiny_model_path, "--json", "--draw", str(out)])
    assert [d["label"] for d in result[first]] == ["person"]
    assert result[second] == []
    drawn = cv2.imread(str(out / "a.png"))
    assert drawn is not None and drawn.shape == (544, 960, 3)


def test_an_unreadable_image_is_reported_and_the_others_still_done(tmp_path, capsys,
                                                                   tiny_model_path):
    bad = tmp_path / "junk.png"
    bad.write_bytes(b"not an image")
    good = paint(tmp_path / "good.png", cells=[(20, 10)])
    assert main(["detect", good, str(bad), "--model", tiny_model_path, "--json"]) == 1
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and "cannot read image" in err and str(bad) in err
    assert [d["label"] for d in json.loads(out)[good]] == ["car"] and str(bad) not in out
    assert main(["detect", str(bad), "--model", tiny_model_path]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1


def test_a_missing_model_or_an_unwritable_drawing_exits_2_with_one_line(tmp_path, capsys,
                                                                       tiny_model_path):
    good = paint(tmp_path / "good.png")
    assert main(["detect", good, "--model", str(tmp_path / "missing.onnx")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "model file not found" in err
    assert main(["detect", good, "--model", tiny_model_path, "--draw", str(tmp_path / "out.xyz")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "out.xyz" in err and ".png, .jpg" in err
    assert not (tmp_path / "out.xyz").exists()
