"""DeepStream nvinfer files: ``[property]`` and ``[class-attrs-*]`` read as nvinfer reads them.

The same reader serves the project's own file (whose post-processing sections
have nvinfer's names) and a DeepStream file given with ``--nvinfer-config``,
which is read over nvinfer's defaults and whose relative paths resolve
against its own folder.
"""

import configparser
import os

from dashcam.config.sections import CLASS_ATTRS_ALL, CLASS_ATTRS_PREFIX, ClassAttrs, Property
from dashcam.errors import ConfigError

# [property] keys holding paths: relative ones are relative to their file.
PATH_KEYS = ("labelfile_path", "onnx_file", "model_engine_file", "int8_calib_file")


def read_ini(path):
    parser = configparser.RawConfigParser(strict=False, inline_comment_prefixes=("#", ";"))
    parser.optionxform = str  # keep minBoxes' capital B for the messages
    try:
        with open(path) as handle:
            parser.read_file(handle, source=path)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the configuration file: {error.strerror or error}")
    except configparser.Error as error:
        raise ConfigError(f"{path}: not a valid INI file: {str(error).splitlines()[0]}")
    return parser


def class_id(section_name, origin):
    """N of a ``[class-attrs-N]`` section, or a ConfigError naming the section."""
    suffix = section_name[len(CLASS_ATTRS_PREFIX):]
    try:
        value = int(suffix)
        if value < 0:
            raise ValueError(suffix)
        return value
    except ValueError:
        raise ConfigError("{}: [{}] is not a valid section: use [class-attrs-all] or [class-attrs-N] "
                          "with N a class id >= 0".format(origin, section_name))


def apply_sections(parser, origin, prop, all_attrs, class_items, strict=False):
    """Apply [property] and [class-attrs-*] of ``parser`` over the given values.

    ``class_items`` maps a class id to ``(key, value, origin, section, strict)``
    items, applied later over the final ``[class-attrs-all]``; returns the new
    ``(prop, all_attrs, class_items)``.
    """
    if parser.has_section("property"):
        prop = prop.replaced(parser.items("property"), origin, strict=strict)
    if parser.has_section(CLASS_ATTRS_ALL):
        all_attrs = all_attrs.replaced(parser.items(CLASS_ATTRS_ALL), origin, strict=strict)
    class_items = {k: list(v) for k, v in class_items.items()}
    for name in parser.sections():
        if name.startswith(CLASS_ATTRS_PREFIX) and name != CLASS_ATTRS_ALL:
            class_items.setdefault(class_id(name, origin), []).extend(
                (key, value, origin, name, strict) for key, value in parser.items(name))
    return prop, all_attrs, class_items


def read_nvinfer(path):
    """A DeepStream file's ``(prop, all_attrs, class_items)`` over nvinfer's defaults."""
    parser = read_ini(path)
    if not parser.has_section("property"):
        raise ConfigError(f"{path}: no [property] section: is this a DeepStream nvinfer config file?")
    prop, all_attrs, class_items = apply_sections(parser, path, Property(), ClassAttrs(), {})
    folder = os.path.dirname(os.path.abspath(path))
    for attr in PATH_KEYS:
        value = getattr(prop, attr)
        if value and not os.path.isabs(os.path.expanduser(value)):
            setattr(prop, attr, os.path.normpath(os.path.join(folder, value)))
    return prop, all_attrs, class_items
