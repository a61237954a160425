"""Engine files, their names and their JSON sidecars: what an engine was built from and for.

An engine runs only where and from what it was built: the same ONNX file
(its SHA-256), precision, TensorRT version, GPU or DLA core and device model
(and, for INT8, the same calibration cache). The sidecar
``<engine>.json`` records them; ``mismatch`` says which one differs, and an
engine whose sidecar is missing or differs is rebuilt, never loaded blindly.
The sidecar is written after the engine, both atomically, so a build cut off
by a power loss leaves no engine that looks complete.
"""

import hashlib
import json
import os

SIDECAR_FORMAT = 1
PRECISIONS = ("fp32", "fp16", "int8")

# (key, what it is, in words for the reason an engine is rebuilt)
CHECKED = (
    ("format", "sidecar format"),
    ("onnx_sha256", "ONNX file (SHA-256)"),
    ("precision", "precision"),
    ("tensorrt", "TensorRT version"),
    ("device", "GPU or DLA core"),
    ("device_model", "device"),
    ("calib_sha256", "calibration cache (SHA-256)"),
)


def engine_name(onnx_path, precision, device):
    """DeepStream's naming: ``model.onnx_b1_gpu0_fp16.engine`` (``dla0`` for DLA core 0)."""
    return f"{os.path.basename(onnx_path)}_b1_{device}_{precision}.engine"


def dla_core_of(device):
    """The DLA core a sidecar's ``device`` names (``dla1`` -> 1), None for the GPU or none."""
    text = device or ""
    return int(text[3:]) if text.startswith("dla") and text[3:].isdigit() else None


def sidecar_path(engine_path):
    return engine_path + ".json"


def file_sha256(path, chunk=1 << 20):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def expected(onnx_sha256, precision, tensorrt, device, device_model, calib_sha256=None):
    """The sidecar fields an engine must have to be loaded for this request."""
    return {"format": SIDECAR_FORMAT, "onnx_sha256": onnx_sha256, "precision": precision,
            "tensorrt": tensorrt, "device": device, "device_model": device_model,
            "calib_sha256": calib_sha256 if precision == "int8" else None}


def mismatch(found, wanted):
    """None when ``found`` (a sidecar dict) matches ``wanted``, else why not, in words."""
    for key, words in CHECKED:
        have, want = found.get(key), wanted.get(key)
        if have != want:
            short = [v[:12] if isinstance(v, str) and key.endswith("sha256") else v for v in (have, want)]
            return f"{words} differs: built with {short[0]}, wanted {short[1]}"
    return None


def read_sidecar(engine_path):
    """The sidecar dict of ``engine_path``, or None when it is missing or not valid JSON."""
    try:
        with open(sidecar_path(engine_path)) as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_atomically(path, data):
    """Write bytes to ``path`` through a temporary file, fsynced and renamed into place."""
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.rename(temporary, path)


def write_engine(engine_path, plan, sidecar):
    """The serialized engine, then its sidecar (the sidecar last: it marks a complete build)."""
    try:
        os.remove(sidecar_path(engine_path))   # an old sidecar must never describe a new engine
    except OSError:
        pass
    write_atomically(engine_path, bytes(plan))
    write_atomically(sidecar_path(engine_path),
                     (json.dumps(sidecar, indent=2, sort_keys=True) + "\n").encode("utf-8"))
