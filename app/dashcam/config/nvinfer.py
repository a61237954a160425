"""DeepStream nvinfer files: ``[property]`` and ``[class-attrs-*]`` read as nvinfer reads them.

The same reader serves the project's own file (whose post-processing sections
have nvinfer's names) and a DeepStream file given with ``--nvinfer-config``,
which is read over nvinfer's defaults and whose relative paths resolve
against its own folder.
"""

import codecs
import configparser
import os

from dashcam.config.sections import CLASS_ATTRS_ALL, CLASS_ATTRS_PREFIX, ClassAttrs, Property
from dashcam.errors import ConfigError

# [property] keys holding paths: relative ones are relative to their file.
PATH_KEYS = ("labelfile_path", "onnx_file", "model_engine_file", "int8_calib_file")


def read_text(path, what):
    """The text of ``path`` (``what`` it is, for the message), which must be UTF-8 (a byte
    order mark, as Windows editors write, is allowed); else a ConfigError naming it."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the {what}: {error.strerror or error}")
    bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        text = data[bom:].decode("utf-8")
    except UnicodeDecodeError as error:
        at = bom + error.start
        raise ConfigError(f"{path}: the {what} is not UTF-8 text (byte {at} is "
                          f"0x{data[at]:02x}): save it as UTF-8 text")
    if "\0" in text:
        raise ConfigError(f"{path}: the {what} holds NUL bytes, so it is not a text file: "
                          "give a UTF-8 text file")
    return text


def read_ini(path):
    parser = configparser.RawConfigParser(strict=False, inline_comment_prefixes=("#", ";"))
    parser.optionxform = str  # keep minBoxes' capital B for the messages
    text = read_text(path, "configuration file")
    try:
        parser.read_string(text, source=path)
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
