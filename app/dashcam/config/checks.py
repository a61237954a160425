"""Checks across sections that each parse alone: alert rules that could never fire.

A rule whose label the model does not have (``labels = cars``) or whose
conditions cannot all hold would leave the warning off without a word; the
run refuses it instead, naming the rule, the key and why. Needs the model's
labels (a label file is read), and the source's frame height and rate where
they are known before it opens, so ``dashcam run`` calls it, not every command.
"""

from dashcam.alerts.rules import AlertRule, never_fires
from dashcam.config.fields import format_value
from dashcam.config.sections import Rule
from dashcam.errors import ConfigError
from dashcam.inference.clustering import DBSCAN, HYBRID


def check_rules(config, frame_height=None, fps=None):
    """ConfigError for the first enabled ``[rule:NAME]`` that can never fire with the model's
    labels (``config.labels()``), its cluster-mode, and frames ``frame_height`` pixels high
    at ``fps`` (None: not known before the source opens)."""
    labels = config.labels()
    # NMS and no clustering keep a cell's coverage (a sigmoid, at most 1); DBSCAN sums them.
    max_confidence = None if config.property.cluster_mode in (DBSCAN, HYBRID) else 1.0
    for name, section in config.instances(Rule.name).items():
        if not section.enabled:
            continue
        found = never_fires(AlertRule.from_section(name, section), labels, max_confidence,
                            frame_height, fps)
        if found:
            key, why = found
            value = format_value(getattr(section, Rule.field(key).attr))
            raise ConfigError("{}: [rule:{}] {} = {}: {}; the rule could never fire (change "
                              "it, or set enabled = false)".format(
                                  config.origin or "the defaults", name, key, value, why))
