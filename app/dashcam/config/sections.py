"""Every section of the configuration, declared once: key, default, bound, help.

The post-processing sections use DeepStream nvinfer's names and meanings
(``[property]``, ``[class-attrs-all]``, ``[class-attrs-N]``), so a DeepStream
``config_infer_primary_dashcamnet.txt`` works unchanged. Values a stage
defines (clustering modes, the store's modes, the reconnect cap) are taken
from that stage, so they are written in one place.
"""

from collections import OrderedDict

from dashcam.alerts.led import FACTORY_NAMES
from dashcam.alerts.rules import EACH, FIRE, HOLD, LEAD, Height, Labels, Polygon, rule_name
from dashcam.capture import BACKOFF_CAP_S
from dashcam.config.gps import Gps
from dashcam.config.imu import Button, Imu
from dashcam.config.parking import Parking
from dashcam.config.mqtt import Mqtt
from dashcam.config.fields import (Field, Section, boolean, choice, flag, integer, number, parsed,
                                   text)
from dashcam.config.upload import Upload
from dashcam.events import SEVERITIES
from dashcam.inference.backends import BACKENDS
from dashcam.inference.clustering import DBSCAN, HYBRID, NMS, NONE
from dashcam.recording.clips import CLIPS_HELP, DEFAULT_CLIPS, parse_clips
from dashcam.recording.retention import DEFAULT_RESERVE, parse_size, size_parser
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
              "outputs to use (a ':0' suffix in the model is matched too); among them, 'cov' and "
              "'bbox' in the names tell which is which"),
        Field("onnx-file", "", text("a path to an .onnx file"),
              "the model; empty: the bundled stand-in model"),
        # TensorRT engine keys, with nvinfer's meanings (a DeepStream file drives the build as is)
        Field("model-engine-file", "", text("a path to a .engine file"),
              "TensorRT engine to load, or to build there once; empty: [model] engine-dir"),
        Field("int8-calib-file", "", text("a path to a TensorRT calibration cache"),
              "INT8 calibration cache (TAO's text format, e.g. calib/dashcamnet_int8.txt)"),
        Field("network-mode", -1, choice(-1, 0, 1, 2),
              "0 FP32, 1 INT8, 2 FP16; -1 (dashcam's own): by device (Nano FP16, Xavier and "
              "Orin INT8 once a calibration cache exists)"),
        Field("enable-dla", False, flag(), "build the engine for a DLA core (Xavier, Orin AGX/NX)"),
        Field("use-dla-core", 0, integer(0, 15), "the DLA core when enable-dla = 1"),
        Field("workspace-size", 512, integer(1, 1 << 20),
              "TensorRT builder workspace, MB (an upper bound, not an allocation)"),
        Field("batch-size", 1, integer(1, 1024), "above 1 is taken as 1 (dashcam runs batch 1)"),
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
        Field("backend", "auto", choice(*BACKENDS),
              "auto: TensorRT when it imports and a CUDA GPU is present, else ONNX Runtime"),
        Field("engine-dir", "", text("a folder path"),
              "where built TensorRT engines are kept; empty: engines/ in $DASHCAM_DATA "
              "or ~/.local/share/dashcam"),
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
    """[tracking]: the IoU tracker that turns detections into objects (figures behind the
    defaults: bench/bench_tracking.py)."""

    name = "tracking"
    fields = (
        Field("iou-threshold", 0.2, number(0.01, 1.0),
              "a detection continues a track whose (predicted) box it overlaps this much"),
        Field("min-hits", 3, integer(1, 1000),
              "matches before a track is an object (object_appeared)"),
        Field("tentative-misses", 2, integer(0, 1000),
              "frames a track not yet an object may miss before it is dropped"),
        Field("max-age", 1.0, number(0.0, 3600.0),
              "seconds unseen before an object has left (object_left)"),
        Field("motion", True, boolean(),
              "match tracks where their boxes should be now (smoothed velocity), not where last seen"),
        Field("confident", 0.5, number(0.0, 100.0),
              "detections this confident are matched first and only they start tracks"),
        Field("duplicate-iou", 0.3, number(0.0, 1.1),
              "a detection overlapping one that continued a track this much is a second box of "
              "that object, not a new one (above 1: off)"),
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


class Service(Section):
    """[service]: running under systemd (``dashcam service install``)."""

    name = "service"
    fields = (
        Field("control-socket", "", text("a socket path, such as /run/dashcam/control.sock"),
              "where the running service hears that an export finished (an export_finished "
              "event, which the LED and serial alerts signal); empty: nowhere"),
        Field("camera-restart", 60.0, number(0.0, 86400.0),
              "under systemd's watchdog: seconds a lost camera may stay lost before the "
              "service has itself restarted (which re-binds the Argus socket); 0: never"),
    )


# The ego lane of a camera centred behind the windscreen, looking level (horizon at
# 42 % of the height), for a 3.5 m lane: its edges meet the bottom row at 9 % and
# 91 % of the width and reach 53 % / 47 % some 55 m ahead. Adjust to the mounting.
EGO_LANE = "0.09,1 0.47,0.47 0.53,0.47 0.91,1"


class Rule(Section):
    """[rule:NAME]: one alert rule on tracked objects (dashcam.alerts.rules); NAME is its name
    in alerts, the serial line and the store."""

    name = "rule"
    instance_name = staticmethod(parsed(rule_name, "lower-case letters, digits, - and _, "
                                                   "at most 17 characters"))
    fields = (
        Field("enabled", True, boolean(), "false: the rule is off (shipped rules too)"),
        Field("labels", Labels(["car"]), parsed(Labels.parse, "labels separated by commas"),
              "the object classes the rule applies to"),
        Field("min-confidence", 0.5, number(0.0, 100.0),
              "the detection's confidence must reach this"),
        Field("min-height", Height(0.0, False),
              parsed(Height.parse, "pixels (80px, or a number above 1) or a fraction of the "
                     "frame height (0..1)"),
              "the box must be this tall: how near the object is"),
        Field("roi", Polygon(), parsed(Polygon.parse, "x,y pairs in 0..1 separated by spaces, "
                                                       "at least three; empty: the whole frame"),
              "the box's ground point (middle of its bottom edge) must be inside this polygon"),
        Field("ttc-below", 0.0, number(0.0, 60.0),
              "fire only when the time to collision (from the box's growth) is below this, "
              "seconds (0: no TTC condition)"),
        Field("severity", "warning", choice(*SEVERITIES),
              "how urgent: the LED pattern and what the serial line says"),
        Field("cooldown", 10.0, number(0.0, 86400.0),
              "seconds before the rule fires again for the same object"),
        Field("rule-cooldown", 0.0, number(0.0, 86400.0),
              "seconds before the rule fires again for any object (0: none)"),
        Field("target", EACH, choice(EACH, LEAD),
              "each: every tracked object on its own; lead: only the nearest object in the "
              "roi, its overlapping boxes merged into one (the car ahead)"),
        Field("min-speed", 0.0, number(0.0, 400.0),
              "fire only while the vehicle (GPS) goes at least this fast, km/h"),
        Field("max-speed", 0.0, number(0.0, 400.0),
              "fire only while the vehicle goes at most this fast, km/h (0: no upper bound)"),
        Field("no-speed", FIRE, choice(FIRE, HOLD),
              "without a speed (no GPS, or no fix): fire as if within the speeds, or hold"),
    )


# The rules every configuration starts with; a [rule:NAME] of the same name changes
# them (enabled = false turns one off), other names add rules.
DEFAULT_RULES = OrderedDict([
    ("forward-collision", [("labels", "car"), ("min-confidence", "0.5"), ("min-height", "0.04"),
                           ("roi", EGO_LANE), ("ttc-below", "3.0"), ("severity", "critical"),
                           ("cooldown", "5"), ("rule-cooldown", "3"), ("target", LEAD),
                           ("min-speed", "5")]),
    ("person-ahead", [("labels", "person"), ("min-confidence", "0.5"), ("min-height", "0.1"),
                      ("roi", EGO_LANE), ("severity", "warning"), ("cooldown", "10")]),
    ("road-sign", [("labels", "road_sign"), ("min-confidence", "0.6"), ("min-height", "0.02"),
                   ("severity", "info"), ("cooldown", "60")]),
])


class Led(Section):
    """[led]: the alert LED on the GPIO header (gpiozero)."""

    name = "led"
    fields = (
        Field("enabled", True, boolean(), "drive the LED (without GPIO it says so once and "
                                          "the run goes on)"),
        Field("pin", "BOARD12", text("a gpiozero pin name: BOARD12 (header pin 12), GPIO18"),
              "the pin the LED (through its resistor) is on"),
        Field("pin-factory", "auto", choice(*FACTORY_NAMES),
              "auto: Jetson.GPIO on a Jetson, else gpiozero's own choice; jetson: Jetson.GPIO; "
              "others: gpiozero's factories (mock: an LED that exists only in memory)"),
        Field("pwm", False, boolean(),
              "dim heartbeat through PWM (only on PWM pins, after pinmux: Nano 32, 33)"),
        Field("active-high", True, boolean(), "false: the pin sinks the LED's current"),
        Field("heartbeat", True, boolean(), "a short blink every 2 s while all is well"),
    )


class Serial(Section):
    """[serial]: alert and heartbeat sentences (NMEA 0183, proprietary) on a serial port."""

    name = "serial"
    fields = (
        Field("enabled", False, boolean(), "write sentences to the port"),
        Field("port", "/dev/ttyUSB0", text("a device path (/dev/ttyTHS1: the Jetson header's "
                                           "UART) or a pyserial URL"),
              "where to write; reopened when it disappears and comes back"),
        Field("baudrate", 115200, integer(50, 4000000), "line speed, bits per second"),
        Field("heartbeat-interval", 5.0, number(0.0, 3600.0),
              "seconds between $PDCAM,HBT sentences (0: none)"),
        Field("reopen-interval", 1.0, number(0.05, 60.0),
              "seconds between tries to reopen a port that is gone"),
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
        Field("stamp", False, boolean(),
              "draw UTC time and GPS speed into the recorded frames (software encoder)"),
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
        Field("reserve", DEFAULT_RESERVE, size_parser(),
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
SECTIONS = (Model, Source, Store, Tracking, Run, Recording, Led, Serial, Service, Gps, Imu, Button,
            Parking, Mqtt, Upload)
# Sections of which a file may have many, [kind:NAME], with the instances every
# configuration starts with.
NAMED_SECTIONS = ((Rule, DEFAULT_RULES),)

# DeepStream's DashCamNet ONNX config sets a stricter threshold for cars.
DEFAULT_CLASS_OVERRIDES = {0: [("pre-cluster-threshold", "0.4")]}
