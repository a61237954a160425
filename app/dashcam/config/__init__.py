"""Configuration: one INI file, sections declared once, DeepStream's nvinfer keys understood."""

from dashcam.config.fields import Field, Section
from dashcam.config.loader import Config, load_config
from dashcam.config.sections import SECTIONS, ClassAttrs, Property

__all__ = ("Config", "ClassAttrs", "Field", "Property", "SECTIONS", "Section", "load_config")
