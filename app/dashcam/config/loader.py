"""The effective configuration: defaults, the project's own INI file, a DeepStream file.

``load_config`` is the one entry point; ``Config.to_ini`` prints the same
declarations back as a valid INI file (``dashcam config show``).
"""

import logging
import os
from collections import OrderedDict

from dashcam.config.fields import did_you_mean, format_value
from dashcam.config.nvinfer import apply_sections, read_ini, read_nvinfer, read_text
from dashcam.config.sections import (CLASS_ATTRS_ALL, CLASS_ATTRS_PREFIX, DEFAULT_CLASS_OVERRIDES,
                                     NAMED_SECTIONS, SECTIONS, ClassAttrs, Property)
from dashcam.errors import ConfigError
from dashcam.records import LABELS

log = logging.getLogger(__name__)


class Config:
    """The effective configuration: every section, with per-class attributes resolved."""

    def __init__(self, sections, class_attrs_all, class_attrs, base_dir="", named=None,
                 origin=None):
        self.origin = origin                      # the file read over the defaults, if any
        self.sections = sections                  # name -> Section
        self.class_attrs_all = class_attrs_all    # ClassAttrs
        self.class_attrs = class_attrs            # class id -> ClassAttrs (complete)
        self.base_dir = base_dir                  # relative paths resolve here
        self.named = named if named is not None else _named_defaults()   # kind -> {NAME: Section}

    def instances(self, kind):
        """The ``[kind:NAME]`` sections in file order after the shipped ones: NAME -> Section."""
        return self.named[kind]

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
            text = read_text(path, "label file ([property] labelfile-path)")
            labels = [line.strip() for line in text.splitlines() if line.strip()]
            # DeepStream label files may separate labels by ';' on one line.
            if len(labels) == 1 and ";" in labels[0]:
                labels = [label.strip() for label in labels[0].split(";") if label.strip()]
        labels = labels[:count]
        return labels + [f"class_{i}" for i in range(len(labels), count)]

    def to_ini(self):
        """The effective configuration as INI text that ``load_config`` reads back."""
        lines = []
        for section in [self.property] + [self.sections[s.name] for s in SECTIONS]:
            lines.extend(_section_lines(f"[{section.name}]", section))
        for kind, instances in self.named.items():
            for name, section in instances.items():
                lines.extend(_section_lines(f"[{kind}:{name}]", section))
        lines.extend(_section_lines(f"[{CLASS_ATTRS_ALL}]", self.class_attrs_all))
        for class_id in sorted(self.class_attrs):
            lines.extend(_section_lines(f"[{CLASS_ATTRS_PREFIX}{class_id}]", self.class_attrs[class_id]))
        return "\n".join(lines)


def _section_lines(header, section):
    lines = [header]
    for field in section.fields:
        lines.append(f"# {field.help} ({field.allowed})")
        lines.append(f"{field.key} = {format_value(getattr(section, field.attr))}")
    lines.append("")
    return lines


def _named_defaults():
    """kind -> OrderedDict(NAME -> Section) of the shipped ``[kind:NAME]`` sections."""
    return OrderedDict((cls.name, OrderedDict(
        (name, cls().replaced(items, "defaults", f"{cls.name}:{name}"))
        for name, items in defaults.items())) for cls, defaults in NAMED_SECTIONS)


def _named_key(section_name):
    """``(cls, NAME)`` for a ``[kind:NAME]`` section of a named kind, else None."""
    kind, colon, name = section_name.partition(":")
    for cls, _ in NAMED_SECTIONS:
        if colon and kind.strip() == cls.name:
            return cls, name.strip()
    return None


def _apply_named(parser, path, named):
    """Each ``[kind:NAME]`` of ``parser`` over the instance of that name (shipped or new)."""
    for section_name in parser.sections():
        key = _named_key(section_name)
        if key is None:
            continue
        cls, name = key
        try:
            name = cls.instance_name(name)
        except ValueError:
            raise ConfigError("{}: [{}] has an invalid name {!r}: {}".format(
                path, section_name, name, cls.instance_name.allowed))
        instances = named[cls.name]
        base = instances.get(name, cls())
        instances[name] = base.replaced(parser.items(section_name), path, section_name, strict=True)


def _check_sections(parser, path):
    """Warn, naming the nearest known one, about each section dashcam does not have."""
    known = [cls.name for cls in SECTIONS] + ["property", CLASS_ATTRS_ALL]
    for name in parser.sections():
        if _named_key(name) is not None:
            continue
        if name not in known and not name.startswith(CLASS_ATTRS_PREFIX):
            log.warning("%s: [%s] is not a dashcam section, ignored%s", path, name,
                        did_you_mean(name, known + [CLASS_ATTRS_PREFIX + "0"]))


def load_config(path=None, nvinfer_path=None):
    """The effective configuration: defaults, then ``path``, then ``nvinfer_path``.

    Unknown keys and sections in ``path`` (the project's own file) are warned
    about with the nearest known name. A DeepStream nvinfer file replaces all
    post-processing settings (it is read over nvinfer's own defaults, as
    DeepStream would read it), and its keys for other parts of DeepStream are
    ignored quietly.
    """
    prop, all_attrs = Property(), ClassAttrs()
    class_items = {k: [(key, value, "defaults", "", False) for key, value in v]
                       for k, v in DEFAULT_CLASS_OVERRIDES.items()}
    sections = OrderedDict((cls.name, cls()) for cls in SECTIONS)
    named = _named_defaults()
    base_dir = os.getcwd()
    if path:
        parser = read_ini(path)
        base_dir = os.path.dirname(os.path.abspath(path))
        for cls in SECTIONS:
            if parser.has_section(cls.name):
                sections[cls.name] = sections[cls.name].replaced(
                    parser.items(cls.name), path, strict=True)
        _check_sections(parser, path)
        _apply_named(parser, path, named)
        prop, all_attrs, class_items = apply_sections(parser, path, prop, all_attrs, class_items,
                                                      strict=True)
    if nvinfer_path:
        prop, all_attrs, class_items = read_nvinfer(nvinfer_path)
    class_attrs = {}
    for class_id, items in sorted(class_items.items()):
        attrs = all_attrs
        for key, value, origin, name, strict in items:
            attrs = attrs.replaced([(key, value)], origin, name or CLASS_ATTRS_PREFIX + str(class_id),
                                   strict=strict)
        class_attrs[class_id] = attrs
    sections["property"] = prop
    return Config(sections, all_attrs, class_attrs, base_dir, named, path)
