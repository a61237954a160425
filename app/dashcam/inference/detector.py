"""Frame in, detections out: preprocessing, a backend, decoding and clustering.

Everything after the backend works on the (cov, bbox) arrays alone, so the
ONNX Runtime and TensorRT paths share it and it is tested once.
"""

import time
from collections import namedtuple

import numpy as np

from dashcam.inference.backends import build_backend
from dashcam.inference.clustering import Scratch, cluster
from dashcam.inference.detectnet import GridDecoder, size_and_roi_mask
from dashcam.inference.preprocess import Preprocessor
from dashcam.records import Detection

Timings = namedtuple("Timings", "preprocess infer postprocess")


class Detector:
    """Runs one frame at a time (batch 1, the lowest latency).

    ``timings`` holds the seconds each stage took on the last frame.
    """

    def __init__(self, backend, labels, config):
        spec = backend.spec
        self.backend = backend
        self.labels = list(labels)
        self.scale = config.property.net_scale_factor
        self.preprocessor = self.new_preprocessor()
        self.decoder = GridDecoder(spec.grid_h, spec.grid_w, spec.stride_y, spec.stride_x,
                                   spec.height, spec.width)
        self.mode = config.property.cluster_mode
        self.params = [config.class_params(c) for c in range(spec.num_classes)]
        self.thresholds = np.array([p.pre_cluster_threshold for p in self.params], dtype=np.float32)
        self.scratch = Scratch()
        self.timings = Timings(0.0, 0.0, 0.0)

    def new_preprocessor(self):
        """A ``Preprocessor`` for this network's input, with a buffer of its own: what
        another thread uses to prepare frames ahead for ``detect_prepared``."""
        return Preprocessor(self.backend.spec.height, self.backend.spec.width, self.scale)

    def detect(self, frame, size=None):
        """Detections in ``frame`` (BGR or BGRx uint8), boxes in frame pixels, best first per
        class; ``size``: ``(width, height)`` to measure boxes in when ``frame`` is a scaled
        copy of a larger picture."""
        start = time.monotonic()
        blob = self.preprocessor(frame, size)
        return self._infer(blob, self.preprocessor.scale_x, self.preprocessor.scale_y,
                           time.monotonic() - start)

    def detect_prepared(self, prepared):
        """Detections for a ``records.Prepared`` input (made by a ``new_preprocessor()``);
        its own preprocessing time goes into ``timings``."""
        return self._infer(prepared.blob, prepared.scale_x, prepared.scale_y, prepared.seconds)

    def _infer(self, blob, scale_x, scale_y, preprocess_s):
        start = time.monotonic()
        cov, bbox = self.backend.infer(blob)
        inferred = time.monotonic()
        detections = self.postprocess(cov, bbox, scale_x, scale_y)
        self.timings = Timings(preprocess_s, inferred - start, time.monotonic() - inferred)
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


def build_detector(config, model_path=None, backend=None, board=None):
    """A ready ``Detector``; pass ``backend`` to use one built elsewhere. ``board`` (a
    ``dashcam.board.Board``) decides the TensorRT precision; read when None."""
    backend = backend or build_backend(config, model_path, board=board)
    return Detector(backend, config.labels(), config)
