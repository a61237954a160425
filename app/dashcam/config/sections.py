"""Every section of the configuration, declared once: key, default, bound, help.

The post-processing sections use DeepStream nvinfer's names and meanings
(``[property]``, ``[class-attrs-all]``, ``[class-attrs-N]``), so a DeepStream
``config_infer_primary_dashcamnet.txt`` works unchanged. Values a stage
defines (clustering modes, the store's modes, the reconnect cap) are taken
from that stage, so they are written in one place.
"""

from dashcam.capture import BACKOFF_CAP_S
from dashcam.config.fields import Field, Section, boolean, choice, integer, number, text
from dashcam.inference.backends import BACKENDS
from dashcam.inference.clustering import DBSCAN, HYBRID, NMS, NONE
from dashcam.recording.clips import CLIPS_HELP, DEFAULT_CLIPS, parse_clips
from dashcam.recording.retention import parse_size, size_parser
from dashcam.recording.snapshots import DEFAULT_SNAPSHOTS
from dashcam.recording.build import ENCODERS
from dashcam.recording.software import PRESETS
from dashcam.store import DETECTIONS_MODES, SYNCHRONOUS

CLASS_ATTRS_ALL = "class-attrs-all"
CLASS_ATTRS_PREFIX = "class-attrs-"


class Property(Section):
    """[property]: DeepStream nvinfer keys that describe the network."""

    name = "property"
    fields = (
        Field("cluster-mode", NMS, choice(DBSCAN, NMS, HYBRID, NONE),
              "1 DBSCAN, 2 NMS, 3 DBSCAN then NMS, 4 no clustering"),
        Field("num-detected-classes", 4, integer(1, 1000),
              "classes the network outputs (cov channels)"),
        Field("net-scale-factor", 1.0 / 255.0, number(positive=True),
              "pixel scale applied to RGB 0..255 input"),
        Field("labelfile-path", "", text("a path to a text file, one label per line"),
              "labels in output order; empty: car, bicycle, person, road_sign"),
        Field("output-blob-names", "output_cov/Sigmoid;output_bbox/BiasAdd", text("names separated by ;"),
              "outputs to use (a ':0' suffix in the model is matched too); among them, 'cov' and 'bbox' in the names tell which is which"),
        Field("onnx-file", "", text("a path to an .onnx file"),
              "the model; empty: the bundled stand-in model"),
    )


class ClassAttrs(Section):
    """[class-attrs-all] / [class-attrs-N]: DeepStream per-class clustering keys."""

    name = CLASS_ATTRS_ALL
    fields = (
        Field("pre-cluster-threshold", 0.2, number(0.0, 1.0),
              "coverage a grid cell needs to become a candidate box"),
        Field("nms-iou-threshold", 0.5, number(0.0, 1.0),
              "NMS suppresses boxes overlapping a better one by more than this IoU"),
        Field("topk", 20, integer(-1),
              "keep at most this many boxes per class after clustering (-1: all)"),
        Field("eps", 0.2, number(0.0, 1.0),
              "DBSCAN neighbourhood radius in 1 - IoU"),
        Field("minBoxes", 1.0, number(0.0),
              "DBSCAN: total coverage a core box needs in its neighbourhood"),
        Field("dbscan-min-score", 0.0, number(0.0),
              "DBSCAN: a cluster's confidence (sum of coverages) must reach this"),
        Field("detected-min-w", 0, integer(0),
              "drop boxes narrower than this, in network-input pixels"),
        Field("detected-min-h", 0, integer(0),
              "drop boxes lower than this, in network-input pixels"),
        Field("detected-max-w", 0, integer(0),
              "drop boxes wider than this, in network-input pixels (0: no limit)"),
        Field("detected-max-h", 0, integer(0),
              "drop boxes higher than this, in network-input pixels (0: no limit)"),
        Field("roi-top-offset", 0, integer(0),
              "drop boxes whose top is above this row of the network input"),
        Field("roi-bottom-offset", 0, integer(0),
              "drop boxes whose bottom is below this many rows from the input's bottom"),
    )


class Model(Section):
    """[model]: which model file and backend run the network."""

    name = "model"
    fields = (
        Field("backend", "onnxruntime", choice(*BACKENDS),
              "inference backend"),
        Field("intra-op-threads", 0, integer(0, 256),
              "ONNX Runtime threads inside an operator (0: one per core)"),
        Field("inter-op-threads", 1, integer(0, 256),
              "ONNX Runtime threads across operators (0: its default)"),
    )


class Source(Section):
    """[source]: the camera (or file, stream, synthetic road) that ``dashcam run`` reads."""

    name = "source"
    fields = (
        Field("uri", "", text("csi://N, v4l2:///dev/videoN, rtsp://..., a video file, synthetic://?seed=N"),
              "what to read; empty: the synthetic road demo (append ?realtime=0 to a file "
              "or synthetic:// for full speed)"),
        Field("width", 1920, integer(16, 8192),
              "frame width asked of CSI and USB cameras, pixels"),
        Field("height", 1080, integer(16, 8192),
              "frame height asked of CSI and USB cameras, pixels"),
        Field("fps", 30.0, number(0.1, 1000.0),
              "frame rate asked of CSI and USB cameras"),
        Field("flip-method", 0, integer(0, 7),
              "CSI only: nvvidconv flip-method (2: upside down)"),
        Field("reconnect-min", 0.5, number(0.01, BACKOFF_CAP_S),
              "seconds before the first reopen of a failed source; doubles each try"),
        Field("reconnect-max", BACKOFF_CAP_S, number(0.01, BACKOFF_CAP_S),
              "longest wait between reopen tries, seconds"),
    )


class Store(Section):
    """[store]: the SQLite event store."""

    name = "store"
    fields = (
        Field("path", "", text("a file path"),
              "the store; empty: dashcam.db in $DASHCAM_DATA or ~/.local/share/dashcam"),
        Field("detections", "all", choice(*DETECTIONS_MODES),
              "which frames' detection rows to keep (events and tracks always)"),
        Field("sample-interval", 1.0, number(0.01, 3600.0),
              "sampled: seconds between frames whose detections are kept"),
        Field("synchronous", "full", choice(*SYNCHRONOUS),
              "full: every commit survives a power cut; normal: the last seconds may not"),
        Field("min-commit-interval", 0.0, number(0.0, 1.0),
              "seconds between commits at least (0: commit as soon as the queue is empty)"),
        Field("queue-size", 1024, integer(16, 1000000),
              "records waiting for the store before new ones are dropped"),
    )


class Tracking(Section):
    """[tracking]: the IoU tracker that turns detections into objects."""

    name = "tracking"
    fields = (
        Field("iou-threshold", 0.3, number(0.01, 1.0),
              "a detection continues a track whose last box it overlaps this much"),
        Field("min-hits", 3, integer(1, 1000),
              "frames in a row before a track is an object (object_appeared)"),
        Field("max-age", 1.0, number(0.0, 3600.0),
              "seconds unseen before an object has left (object_left)"),
        Field("history-size", 32, integer(2, 10000),
              "boxes kept per track, spread over its whole life"),
    )


class Run(Section):
    """[run]: the running application's reporting."""

    name = "run"
    fields = (
        Field("status-interval", 1.0, number(0.0, 3600.0),
              "seconds between status lines on stderr (0: none)"),
        Field("stats-interval", 5.0, number(0.5, 3600.0),
              "seconds between rows of the stats table"),
        Field("preview-width", 960, integer(64, 8192),
              "width of --preview frames, pixels (smaller costs less CPU)"),
        Field("preprocess-ahead", "auto", choice("auto", "always", "never"),
              "make the network input in the capture thread, overlapping "
              "inference: auto for files and synthetic at full speed, always also for cameras "
              "(worth it when a GPU runs the network)"),
    )


def _clips(text):
    parse_clips(text)   # raises ValueError naming the bad token
    return text.strip()


_clips.allowed = CLIPS_HELP


class Recording(Section):
    """[recording]: continuous video, event clips, snapshots, retention of video and store."""

    name = "recording"
    fields = (
        Field("enabled", True, boolean(), "record video while running"),
        Field("path", "", text("a folder"),
              "the recordings folder; empty: recordings/ beside the store"),
        Field("encoder", "auto", choice(*ENCODERS),
              "auto: NVENC on a Jetson that has it (not the Orin Nano), else libx264 (PyAV)"),
        Field("segment-seconds", 5.0, number(1.0, 60.0),
              "length of one segment file; a crash loses at most the one being written"),
        Field("keyframe-interval", 1.0, number(0.1, 10.0),
              "seconds between keyframes (clips are cut on them)"),
        Field("width", 0, integer(0, 8192), "encoded width, pixels (0: the source's)"),
        Field("height", 0, integer(0, 8192), "encoded height, pixels (0: the source's)"),
        Field("bitrate", 4000, integer(100, 100000), "H.264 bitrate, kbit/s"),
        Field("preset", "ultrafast", choice(*PRESETS), "libx264 preset (software encoder)"),
        Field("threads", 1, integer(0, 64),
              "libx264 threads (0: one per core; 1 leaves the other cores to inference)"),
        Field("queue-size", 15, integer(1, 1000),
              "frames waiting for the encoder before new ones are dropped (each a full image)"),
        Field("clips", DEFAULT_CLIPS, _clips, "event types whose clip is protected"),
        Field("pre-roll", 10.0, number(0.0, 600.0), "seconds of a clip before its event"),
        Field("post-roll", 10.0, number(0.0, 600.0), "seconds of a clip after its event ends"),
        Field("snapshots", DEFAULT_SNAPSHOTS, text("event types separated by commas, or *"),
              "event types that get a JPEG of their frame with boxes"),
        Field("snapshot-width", 960, integer(0, 8192),
              "snapshot width, pixels (0: the recording's)"),
        Field("quota", parse_size("80%"), size_parser(),
              "what the recordings folder may hold; the oldest unprotected video goes first"),
        Field("reserve", parse_size("256M"), size_parser(),
              "free space to keep on the recordings volume"),
        Field("max-age", 0.0, number(0.0, 36500.0),
              "days after which unprotected video is deleted (0: only by quota)"),
        Field("detections-max-age", 30.0, number(0.0, 36500.0),
              "days after which detection rows are pruned (0: never); events stay"),
        Field("store-max-size", parse_size("0"), size_parser(),
              "past this the oldest detection rows are pruned (0: no bound)"),
    )


# Sections other than the nvinfer ones, in the order `config show` prints them.
# New sections are declared above and listed here.
SECTIONS = (Model, Source, Store, Tracking, Run, Recording)

# DeepStream's DashCamNet ONNX config sets a stricter threshold for cars.
DEFAULT_CLASS_OVERRIDES = {0: [("pre-cluster-threshold", "0.4")]}
