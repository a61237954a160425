"""KITTI label files: real-format lines, round trips, errors that name file and line."""

import pytest

from dashcam.errors import DashcamError
from dashcam.evaluation import kitti

# Lines as they appear in KITTI's training labels and in TAO-exported predictions.
REAL = """\
Car 0.00 0 -1.58 587.01 173.33 614.12 200.12 1.65 1.67 3.64 -0.65 1.71 46.70 -1.59
Cyclist 0.88 3 -2.40 0.00 181.53 47.24 274.85 1.75 0.47 1.58 -8.95 1.66 6.44 -3.04
Pedestrian 0.00 1 0.21 1106.21 166.37 1135.92 239.57 1.72 0.55 0.80 13.23 1.52 24.12 0.70

DontCare -1 -1 -10 503.89 169.71 590.61 190.13 -1 -1 -1 -1000 -1000 -1000 -10
road_sign 0.00 0 0.00 40.10 50.20 60.30 70.40 0.00 0.00 0.00 0.00 0.00 0.00 0.00 0.9512
"""


def test_reads_real_format_lines(tmp_path):
    path = tmp_path / "000123.txt"
    path.write_text(REAL)
    car, cyclist, walker, dontcare, sign = kitti.read_labels(path)
    assert car.type == "Car" and car.box == (587.01, 173.33, 614.12, 200.12) and car.score is None
    assert (cyclist.truncated, cyclist.occluded) == (0.88, 3)
    assert walker.occluded == 1 and walker.z == 24.12
    assert dontcare.dontcare and dontcare.truncated == -1 and dontcare.occluded == -1
    assert sign.type == "road_sign" and sign.score == 0.9512


def test_round_trip_keeps_every_field(tmp_path):
    objects = [kitti.make_object("car", (10, 20.5, 110.25, 80), truncated=0.25, occluded=1),
               kitti.make_object("DontCare", (0, 0, 5, 5)),
               kitti.make_object("person", (1, 2, 3, 4), score=0.5)]
    path = tmp_path / "labels.txt"
    kitti.write_labels(path, objects)
    assert kitti.read_labels(path) == objects
    assert path.read_text().splitlines()[1] == \
        "DontCare -1.00 -1 -10.00 0.00 0.00 5.00 5.00 -1.00 -1.00 -1.00 -1000.00 -1000.00 -1000.00 -10.00"


def test_empty_file_has_no_objects(tmp_path):
    path = tmp_path / "empty.txt"
    kitti.write_labels(path, [])
    assert kitti.read_labels(path) == []


@pytest.mark.parametrize("line", [
    "Car 0.00 0 -1.58 587.01 173.33 614.12",                                     # too few fields
    "Car 0.00 0 -1.58 587.01 173.33 614.12 wide 1.65 1.67 3.64 -0.65 1.71 46.70 -1.59",
    "Car 0.00 0.5 -1.58 587.01 173.33 614.12 200.12 1.65 1.67 3.64 -0.65 1.71 46.70 -1.59",
])
def test_malformed_line_names_file_and_line(tmp_path, line):
    path = tmp_path / "000007.txt"
    path.write_text(REAL.splitlines()[0] + "\n\n" + line + "\n")
    with pytest.raises(DashcamError) as error:
        kitti.read_labels(path)
    message = str(error.value)
    assert message.startswith(f"{path}:3: ")
    assert "expected 15 or 16 space-separated fields: type truncated occluded alpha x1 y1 x2 y2" in message


def test_missing_file_is_an_expected_error(tmp_path):
    with pytest.raises(DashcamError, match="cannot read label file"):
        kitti.read_labels(tmp_path / "nope.txt")
