"""Small ONNX graphs with DashCamNet's tensor contract, built with onnx.helper.

``colour_model``: each 16x16 cell's mean colour drives the coverage, so a test
paints a frame and knows what the network outputs: class 0 (car) covers
red cells, class 1 (bicycle) green, class 2 (person) blue, class 3 never.
Every cell's box planes are the constant ``box`` (default 1.0 each), so a
covered cell at column gx, row gy decodes to
``(16*gx + 0.5 - 35, 16*gy + 0.5 - 35, 16*gx + 0.5 + 35, 16*gy + 0.5 + 35)``.
"""

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def colour_model(path, height=544, width=960, stride=16, box=1.0, gain=40.0, classes=4,
                 input_name="input_1:0", cov_name="output_cov/Sigmoid:0",
                 bbox_name="output_bbox/BiasAdd:0", batch=1):
    grid_h, grid_w = height // stride, width // stride
    w_cov = np.zeros((classes, 3, 1, 1), np.float32)
    b_cov = np.full(classes, -gain / 2, np.float32)
    for c in range(min(classes, 3)):
        w_cov[c, c, 0, 0] = gain  # class c follows RGB channel c
    w_box = np.zeros((4 * classes, 3, 1, 1), np.float32)
    b_box = np.full(4 * classes, box, np.float32)
    nodes = [
        helper.make_node("AveragePool", ["x"], ["pooled"], kernel_shape=[stride, stride], strides=[stride, stride]),
        helper.make_node("Conv", ["pooled", "w_cov", "b_cov"], ["logits"]),
        helper.make_node("Sigmoid", ["logits"], [cov_name]),
        helper.make_node("Conv", ["pooled", "w_box", "b_box"], [bbox_name]),
        helper.make_node("Identity", [input_name], ["x"]),
    ]
    nodes = nodes[-1:] + nodes[:-1]
    graph = helper.make_graph(
        nodes, "colour_model",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, [batch, 3, height, width])],
        [helper.make_tensor_value_info(cov_name, TensorProto.FLOAT, [batch, classes, grid_h, grid_w]),
         helper.make_tensor_value_info(bbox_name, TensorProto.FLOAT, [batch, 4 * classes, grid_h, grid_w])],
        [numpy_helper.from_array(w_cov, "w_cov"), numpy_helper.from_array(b_cov, "b_cov"),
         numpy_helper.from_array(w_box, "w_box"), numpy_helper.from_array(b_box, "b_box")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return str(path)


def decoded_cell_box(gx, gy, box=1.0, stride=16):
    """The network-pixel box ``colour_model`` gives for a covered cell (before clipping)."""
    cx, cy = stride * gx + 0.5, stride * gy + 0.5
    return (cx - 35 * box, cy - 35 * box, cx + 35 * box, cy + 35 * box)
