"""Shared fixtures: real ONNX graphs with the DashCamNet contract."""

import pytest

from onnx_models import colour_model


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory):
    """A real ONNX model (1x3x544x960 in, 4x34x60 cov, 16x34x60 bbox): see ``onnx_models.colour_model``."""
    return colour_model(tmp_path_factory.mktemp("models") / "colour.onnx")
