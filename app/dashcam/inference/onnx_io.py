"""The inputs and outputs an ONNX file declares, read from its protobuf without onnx or ONNX
Runtime (neither is on a Jetson that runs TensorRT), for the contract check of a model
before anything loads it.

Only the fields on the way are decoded (onnx.proto: ModelProto.graph = 7; GraphProto.input
= 11, output = 12; ValueInfoProto.name = 1, type = 2; TypeProto.tensor_type = 1;
Tensor.elem_type = 1, shape = 2; TensorShapeProto.dim = 1; Dimension.dim_value = 1,
dim_param = 2); the weights are skipped by their length.
"""

from dashcam.errors import ModelError
from dashcam.inference.contract import Tensor

# TensorProto.DataType numbers -> the names ONNX Runtime's dtypes are compared with
ELEM_TYPES = {1: "float32", 2: "uint8", 3: "int8", 6: "int32", 7: "int64", 10: "float16",
              11: "float64"}


def _varint(data, pos):
    value = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def fields(data):
    """``(field number, value)`` of one protobuf message: ints for varints, bytes (a view)
    for length-delimited fields; fixed-size fields are skipped."""
    pos, end = 0, len(data)
    while pos < end:
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            size, pos = _varint(data, pos)
            if pos + size > end:
                raise ValueError("field {} runs past the end".format(number))
            value, pos = data[pos:pos + size], pos + size
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
            continue
        else:
            raise ValueError("wire type {} (not an ONNX file)".format(wire))
        yield number, value


def _first(data, number, default=None):
    return next((value for n, value in fields(data) if n == number), default)


def _tensor(value_info):
    name = bytes(_first(value_info, 1, b"")).decode("utf-8", "replace")
    tensor_type = _first(_first(value_info, 2, b""), 1, b"")
    elem = _first(tensor_type, 1, 0)
    shape = []
    for number, dim in fields(_first(tensor_type, 2, b"")):
        if number == 1:
            parts = dict(fields(dim))
            value = parts.get(1)
            shape.append(value if value is not None else
                         bytes(parts[2]).decode() if 2 in parts else None)
    return Tensor(name, shape, ELEM_TYPES.get(elem, "onnx type {}".format(elem)))


def read_tensors(path):
    """``(inputs, outputs)`` as ``contract.Tensor`` lists, or a ModelError naming the file."""
    try:
        with open(path, "rb") as handle:
            data = memoryview(handle.read())
        graph = _first(data, 7)
        if graph is None:
            raise ValueError("no graph")
        inputs = [_tensor(v) for n, v in fields(graph) if n == 11]
        outputs = [_tensor(v) for n, v in fields(graph) if n == 12]
    except OSError as error:
        raise ModelError("cannot read {}: {}".format(path, error.strerror or error))
    except (ValueError, KeyError, UnicodeDecodeError) as error:
        raise ModelError("{} is not a readable ONNX model ({})".format(path, error))
    return inputs, outputs
