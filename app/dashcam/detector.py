"""Frame in, detections out: preprocessing, a backend, decoding and clustering.

Everything after the backend works on the (cov, bbox) arrays alone, so the
ONNX Runtime and TensorRT paths share it and it is tested once.
"""

import os
import sys
import time
from collections import namedtuple

import numpy as np

from dashcam.clustering import Scratch, cluster
from dashcam.detectnet import GridDecoder, size_and_roi_mask
from dashcam.detection import Detection
from dashcam.errors import ModelError
from dashcam.preprocess import Preprocessor

STANDIN_NAME = os.path.join("standin", "dashcamnet_standin.onnx")

Timings = namedtuple("Timings", "preprocess infer postprocess")


def default_model_path():
    """The bundled stand-in model: in the source tree, or installed under share/."""
    here = os.path.dirname(os.path.abspath(__file__))
    candidates = [
        os.path.join(os.path.dirname(os.path.dirname(here)), "engines", STANDIN_NAME),
        os.path.join(sys.prefix, "share", "dashcam", "engines", STANDIN_NAME),
    ]
    for path in candidates:
        if os.path.isfile(path):
            return path
    return candidates[0]


class Detector(object):
    """Runs one frame at a time (batch 1, the lowest latency).

    ``timings`` holds the seconds each stage took on the last frame.
    """

    def __init__(self, backend, labels, config):
        spec = backend.spec
        self.backend = backend
        self.labels = list(labels)
        self.preprocessor = Preprocessor(spec.height, spec.width, config.property.net_scale_factor)
        self.decoder = GridDecoder(spec.grid_h, spec.grid_w, spec.stride_y, spec.stride_x,
                                   spec.height, spec.width)
        self.mode = config.property.cluster_mode
        self.params = [config.class_params(c) for c in range(spec.num_classes)]
        self.thresholds = np.array([p.pre_cluster_threshold for p in self.params], dtype=np.float32)
        self.scratch = Scratch()
        self.timings = Timings(0.0, 0.0, 0.0)

    def detect(self, frame):
        """Detections in ``frame`` (BGR uint8), boxes in frame pixels, best first per class."""
        start = time.monotonic()
        blob = self.preprocessor(frame)
        preprocessed = time.monotonic()
        cov, bbox = self.backend.infer(blob)
        inferred = time.monotonic()
        detections = self.postprocess(cov, bbox, self.preprocessor.scale_x, self.preprocessor.scale_y)
        self.timings = Timings(preprocessed - start, inferred - preprocessed, time.monotonic() - inferred)
        return detections

    def postprocess(self, cov, bbox, scale_x=1.0, scale_y=1.0):
        """Decode, filter and cluster per class; scale boxes by the given factors."""
        found = self.decoder.decode(cov, bbox, self.thresholds)
        detections = []
        for class_id in np.unique(found.class_ids):
            params = self.params[class_id]
            mine = found.class_ids == class_id
            boxes, scores = found.boxes[mine], found.scores[mine]
            keep = size_and_roi_mask(boxes, params, self.decoder.net_h)
            boxes, scores = cluster(boxes[keep], scores[keep], self.mode, params, self.scratch)
            label = self.labels[class_id]
            for (x1, y1, x2, y2), score in zip(boxes.tolist(), scores.tolist()):
                detections.append(Detection(int(class_id), label, score,
                                            x1 * scale_x, y1 * scale_y, x2 * scale_x, y2 * scale_y))
        return detections

    def close(self):
        self.backend.close()


def build_backend(config, model_path=None):
    """The configured backend on ``model_path``, [property] onnx-file or the stand-in."""
    path = model_path or config.path(config.property.onnx_file) or default_model_path()
    if config.model.backend == "onnxruntime":
        from dashcam.backends.onnxruntime import OnnxRuntimeBackend
        names = [n.strip() for n in config.property.output_blob_names.split(";") if n.strip()]
        return OnnxRuntimeBackend(path, config.property.num_detected_classes,
                                  config.model.intra_op_threads, config.model.inter_op_threads, names)
    raise ModelError("unknown backend {!r}".format(config.model.backend))


def build_detector(config, model_path=None, backend=None):
    """A ready ``Detector``; pass ``backend`` to use one built elsewhere."""
    backend = backend or build_backend(config, model_path)
    return Detector(backend, config.labels(), config)
