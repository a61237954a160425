"""One INI file configures everything; each section is declared once, here.

The post-processing sections use DeepStream nvinfer's names and meanings
(``[property]``, ``[class-attrs-all]``, ``[class-attrs-N]``), so a DeepStream
``config_infer_primary_dashcamnet.txt`` works unchanged. Every field carries
its default, its bound and a line of help; ``dashcam config show`` prints the
same declarations as a valid INI file.
"""

import configparser
import logging
import os
from collections import OrderedDict, namedtuple

from dashcam.detection import LABELS
from dashcam.errors import ConfigError

log = logging.getLogger(__name__)

CLASS_ATTRS_ALL = "class-attrs-all"
CLASS_ATTRS_PREFIX = "class-attrs-"


class Field(namedtuple("Field", "key default parse help")):
    """One key: ``parse(text)`` returns the value or raises ValueError."""

    __slots__ = ()

    @property
    def attr(self):
        return self.key.replace("-", "_").lower()

    @property
    def allowed(self):
        return self.parse.allowed


def _parser(parse, allowed):
    parse.allowed = allowed
    return parse


def _range_text(kind, low, high):
    def show(value):
        return str(value) if isinstance(value, int) else "{:g}".format(value)
    if high is not None:
        return "{} {}..{}".format(kind, show(low), show(high))
    return "{} >= {}".format(kind, show(low)) if low is not None else kind


def integer(low=None, high=None):
    def parse(text):
        value = int(text)
        if (low is not None and value < low) or (high is not None and value > high):
            raise ValueError(text)
        return value
    return _parser(parse, _range_text("an integer", low, high))


def number(low=None, high=None, positive=False):
    """A float in [low, high]; ``positive`` also excludes 0."""
    def parse(text):
        value = float(text)
        if value != value or (low is not None and value < low) or (high is not None and value > high):
            raise ValueError(text)
        if positive and value <= 0:
            raise ValueError(text)
        return value
    return _parser(parse, "a positive number" if positive else _range_text("a number", low, high))


def choice(*values):
    def parse(text):
        for value in values:
            if str(value) == text.strip():
                return value
        raise ValueError(text)
    names = [str(v) for v in values]
    allowed = names[0] if len(names) == 1 else "{} or {}".format(", ".join(names[:-1]), names[-1])
    return _parser(parse, allowed)


def text(allowed):
    """Any text (stripped); ``allowed`` describes what it should be."""
    return _parser(lambda value: value.strip(), allowed)


def format_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


class Section(object):
    """A section's values as attributes (``cluster-mode`` -> ``cluster_mode``)."""

    name = None
    fields = ()

    def __init__(self, **values):
        for field in self.fields:
            setattr(self, field.attr, values.pop(field.attr, field.default))
        if values:
            raise TypeError("unknown fields for [{}]: {}".format(self.name, ", ".join(values)))

    @classmethod
    def field(cls, key):
        for field in cls.fields:
            if field.key.lower() == key.lower():
                return field
        return None

    def replaced(self, items, origin, section_name=None):
        """A copy with ``items`` (key, text) parsed over these values."""
        values = self.values()
        for key, raw in items:
            field = self.field(key)
            if field is None:
                log.debug("%s: [%s] %s is not a dashcam key, ignored", origin, section_name or self.name, key)
                continue
            try:
                values[field.attr] = field.parse(raw)
            except ValueError:
                raise ConfigError("{}: [{}] {} = {!r} is invalid: allowed {}".format(
                    origin, section_name or self.name, field.key, raw, field.allowed))
        return type(self)(**values)

    def values(self):
        return OrderedDict((field.attr, getattr(self, field.attr)) for field in self.fields)

    def __eq__(self, other):
        return type(self) is type(other) and self.values() == other.values()

    def __repr__(self):
        return "{}({})".format(type(self).__name__, dict(self.values()))


class Property(Section):
    """[property]: DeepStream nvinfer keys that describe the network."""

    name = "property"
    fields = (
        Field("cluster-mode", 2, choice(1, 2, 3, 4),
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
        Field("backend", "onnxruntime", choice("onnxruntime"),
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
        Field("reconnect-min", 0.5, number(0.01, 10.0),
              "seconds before the first reopen of a failed source; doubles each try"),
        Field("reconnect-max", 10.0, number(0.01, 10.0),
              "longest wait between reopen tries, seconds"),
    )


class Store(Section):
    """[store]: the SQLite event store."""

    name = "store"
    fields = (
        Field("path", "", text("a file path"),
              "the store; empty: dashcam.db in $DASHCAM_DATA or ~/.local/share/dashcam"),
        Field("detections", "all", choice("all", "sampled", "none"),
              "which frames' detection rows to keep (events and tracks always)"),
        Field("sample-interval", 1.0, number(0.01, 3600.0),
              "sampled: seconds between frames whose detections are kept"),
        Field("synchronous", "full", choice("full", "normal"),
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


# Sections other than the nvinfer ones, in the order `config show` prints them.
# New sections are declared above and listed here.
SECTIONS = (Model, Source, Store, Tracking, Run)

# DeepStream's DashCamNet ONNX config sets a stricter threshold for cars.
DEFAULT_CLASS_OVERRIDES = {0: [("pre-cluster-threshold", "0.4")]}


class Config(object):
    """The effective configuration: every section, with per-class attributes resolved."""

    def __init__(self, sections, class_attrs_all, class_attrs, base_dir=""):
        self.sections = sections                  # name -> Section
        self.class_attrs_all = class_attrs_all    # ClassAttrs
        self.class_attrs = class_attrs            # class id -> ClassAttrs (complete)
        self.base_dir = base_dir                  # relative paths resolve here

    def __getattr__(self, name):
        sections = self.__dict__.get("sections", {})
        key = name.replace("_", "-")
        if key in sections:
            return sections[key]
        raise AttributeError(name)

    def class_params(self, class_id):
        """The clustering attributes of one class: [class-attrs-N] over [class-attrs-all]."""
        return self.class_attrs.get(class_id, self.class_attrs_all)

    def path(self, value):
        """A path from the configuration, relative to the file that set it."""
        if not value:
            return value
        value = os.path.expanduser(value)
        return value if os.path.isabs(value) else os.path.normpath(os.path.join(self.base_dir, value))

    def labels(self):
        """Class labels in output order, from ``labelfile-path`` or DashCamNet's."""
        count = self.property.num_detected_classes
        path = self.path(self.property.labelfile_path)
        if not path:
            labels = list(LABELS)
        else:
            try:
                with open(path) as handle:
                    labels = [line.strip() for line in handle if line.strip()]
            except (IOError, OSError) as error:
                raise ConfigError("[property] labelfile-path {}: {}; fix the path".format(path, error.strerror or error))
            # DeepStream label files may separate labels by ';' on one line.
            if len(labels) == 1 and ";" in labels[0]:
                labels = [label.strip() for label in labels[0].split(";") if label.strip()]
        labels = labels[:count]
        return labels + ["class_{}".format(i) for i in range(len(labels), count)]

    def to_ini(self):
        """The effective configuration as INI text that ``load_config`` reads back."""
        lines = []
        for section in [self.property] + [self.sections[s.name] for s in SECTIONS]:
            lines.extend(_section_lines("[{}]".format(section.name), section))
        lines.extend(_section_lines("[{}]".format(CLASS_ATTRS_ALL), self.class_attrs_all))
        for class_id in sorted(self.class_attrs):
            lines.extend(_section_lines("[{}{}]".format(CLASS_ATTRS_PREFIX, class_id), self.class_attrs[class_id]))
        return "\n".join(lines)


def _section_lines(header, section):
    lines = [header]
    for field in section.fields:
        lines.append("# {} ({})".format(field.help, field.allowed))
        lines.append("{} = {}".format(field.key, format_value(getattr(section, field.attr))))
    lines.append("")
    return lines


def _read_ini(path):
    parser = configparser.RawConfigParser(strict=False, inline_comment_prefixes=("#", ";"))
    parser.optionxform = str  # keep minBoxes' capital B for the messages
    try:
        with open(path) as handle:
            parser.read_file(handle, source=path)
    except (IOError, OSError) as error:
        raise ConfigError("{}: cannot read the configuration file: {}".format(path, error.strerror or error))
    except configparser.Error as error:
        raise ConfigError("{}: not a valid INI file: {}".format(path, str(error).splitlines()[0]))
    return parser


def _class_id(section_name, origin):
    suffix = section_name[len(CLASS_ATTRS_PREFIX):]
    try:
        class_id = int(suffix)
        if class_id < 0:
            raise ValueError(suffix)
        return class_id
    except ValueError:
        raise ConfigError("{}: [{}] is not a valid section: use [class-attrs-all] or [class-attrs-N] "
                          "with N a class id >= 0".format(origin, section_name))


def _nvinfer_sections(parser, origin, prop, all_attrs, class_items):
    """Apply [property] and [class-attrs-*] of ``parser`` over the given values."""
    if parser.has_section("property"):
        prop = prop.replaced(parser.items("property"), origin)
    if parser.has_section(CLASS_ATTRS_ALL):
        all_attrs = all_attrs.replaced(parser.items(CLASS_ATTRS_ALL), origin)
    class_items = dict((k, list(v)) for k, v in class_items.items())
    for name in parser.sections():
        if name.startswith(CLASS_ATTRS_PREFIX) and name != CLASS_ATTRS_ALL:
            class_items.setdefault(_class_id(name, origin), []).extend(
                (key, value, origin, name) for key, value in parser.items(name))
    return prop, all_attrs, class_items


def load_config(path=None, nvinfer_path=None):
    """The effective configuration: defaults, then ``path``, then ``nvinfer_path``.

    A DeepStream nvinfer file replaces all post-processing settings (it is
    read over nvinfer's own defaults, as DeepStream would read it); its
    relative paths resolve against its own directory.
    """
    prop, all_attrs = Property(), ClassAttrs()
    class_items = dict((k, [(key, value, "defaults", "") for key, value in v])
                       for k, v in DEFAULT_CLASS_OVERRIDES.items())
    sections = OrderedDict((cls.name, cls()) for cls in SECTIONS)
    base_dir = os.getcwd()
    if path:
        parser = _read_ini(path)
        base_dir = os.path.dirname(os.path.abspath(path))
        for cls in SECTIONS:
            if parser.has_section(cls.name):
                sections[cls.name] = sections[cls.name].replaced(parser.items(cls.name), path)
        known = set(sections) | {"property", CLASS_ATTRS_ALL}
        for name in parser.sections():
            if name not in known and not name.startswith(CLASS_ATTRS_PREFIX):
                log.debug("%s: [%s] is not a dashcam section, ignored", path, name)
        prop, all_attrs, class_items = _nvinfer_sections(parser, path, prop, all_attrs, class_items)
    if nvinfer_path:
        parser = _read_ini(nvinfer_path)
        if not parser.has_section("property"):
            raise ConfigError("{}: no [property] section: is this a DeepStream nvinfer config file?".format(nvinfer_path))
        nv_dir = os.path.dirname(os.path.abspath(nvinfer_path))
        prop, all_attrs, class_items = _nvinfer_sections(parser, nvinfer_path, Property(), ClassAttrs(), {})
        # Paths inside the nvinfer file are relative to that file.
        for attr in ("labelfile_path", "onnx_file"):
            value = getattr(prop, attr)
            if value and not os.path.isabs(os.path.expanduser(value)):
                setattr(prop, attr, os.path.normpath(os.path.join(nv_dir, value)))
    class_attrs = {}
    for class_id, items in sorted(class_items.items()):
        attrs = all_attrs
        for key, value, origin, name in items:
            attrs = attrs.replaced([(key, value)], origin, name or CLASS_ATTRS_PREFIX + str(class_id))
        class_attrs[class_id] = attrs
    sections["property"] = prop
    return Config(sections, all_attrs, class_attrs, base_dir)
