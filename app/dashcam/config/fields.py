"""The pieces every configuration section is made of: fields, value parsers, sections.

A ``Field`` carries its key, default, parser and a line of help; the parser
also knows how to say what it allows, so an error and ``dashcam config show``
describe a key in the same words.
"""

import difflib
import logging
from collections import OrderedDict, namedtuple

from dashcam.errors import ConfigError

log = logging.getLogger(__name__)


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
        return str(value) if isinstance(value, int) else f"{value:g}"
    if high is not None:
        return f"{kind} {show(low)}..{show(high)}"
    return f"{kind} >= {show(low)}" if low is not None else kind


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


def _truth(text):
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(text)


def flag():
    """A boolean as DeepStream writes it: 1/0 (also true/false, yes/no, on/off)."""
    return _parser(_truth, "1 or 0")


def boolean():
    """true/false (also yes/no, on/off, 1/0), as configparser reads them."""
    return _parser(_truth, "true or false")


def parsed(parse, allowed):
    """A parser from a function of the text that raises ValueError (a type's ``parse``)."""
    return _parser(lambda value: parse(value), allowed)


def text(allowed):
    """Any text (stripped); ``allowed`` describes what it should be."""
    return _parser(lambda value: value.strip(), allowed)


def format_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


class Section:
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

    def replaced(self, items, origin, section_name=None, strict=False):
        """A copy with ``items`` (key, text) parsed over these values.

        A key this section does not have is ignored: with ``strict`` (the
        project's own file) a warning names the nearest key, otherwise (a
        DeepStream file, full of keys for other parts of DeepStream) quietly.
        """
        values = self.values()
        for key, raw in items:
            field = self.field(key)
            if field is None:
                where = f"{origin}: [{section_name or self.name}] {key}"
                if strict:
                    log.warning("%s is not a key of this section, ignored%s", where,
                                did_you_mean(key, [f.key for f in self.fields]))
                else:
                    log.debug("%s is not a dashcam key, ignored", where)
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
        return f"{type(self).__name__}({dict(self.values())})"


def did_you_mean(word, candidates):
    """``"; did you mean X?"`` for the candidate closest to ``word``, or ``""``."""
    lowered = {c.lower(): c for c in candidates}
    close = difflib.get_close_matches(word.lower().replace("_", "-"), list(lowered), n=1, cutoff=0.6)
    return f"; did you mean {lowered[close[0]]}?" if close else ""
