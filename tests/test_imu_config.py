"""[imu] mistakes found before a run starts: one line naming the key or the file, and the fix."""

import os

import pytest

from dashcam.errors import ConfigError, DashcamError
from dashcam.imu import thresholds
from dashcam.runtime import build_pipeline
from test_pipeline import make_config


def test_sensitivity_is_a_level_or_a_number_of_g(tmp_path):
    assert thresholds(make_config(tmp_path, imu={"sensitivity": "high"}).imu).impact_g == 0.7
    assert thresholds(make_config(tmp_path, imu={"sensitivity": "2.5"}).imu).impact_g == 2.5
    with pytest.raises(ConfigError, match=r"\[imu\] sensitivity = 'extreme' is invalid: allowed "
                                          r"low \(2 g\), medium \(1.2 g\), high \(0.7 g\)"):
        make_config(tmp_path, imu={"sensitivity": "extreme"})


@pytest.mark.parametrize("source, says", [
    ("csv://{tmp}/missing.csv", "cannot read the trace {tmp}/missing.csv"),
    ("i2c://1/0x68?chip=bmi160", "chip= must be one of adxl345, lis3dh, mpu6050"),
    ("spi://0/0", "unknown scheme; use one of i2c://, csv://, synthetic://..., or none"),
])
def test_a_wrong_imu_source_fails_the_build_before_anything_is_built(tmp_path, tiny_model_path,
                                                                     source, says):
    config = make_config(tmp_path, imu={"source": source.format(tmp=tmp_path)})
    db_path = str(tmp_path / "dashcam.db")
    with pytest.raises(DashcamError, match=says.format(tmp=tmp_path).replace("?", r"\?")):
        build_pipeline(config, source="synthetic://?seed=1", db_path=db_path,
                       model_path=tiny_model_path, status_stream=None)
    assert not os.path.exists(db_path)
