"""The running application: the composition root that builds every part, the run that
starts, watches and stops them by the stop plan, and its status."""

from dashcam.runtime.build import DEMO_URI, GIVEN, build_pipeline
from dashcam.runtime.pipeline import Pipeline
from dashcam.runtime.stop import COMMIT_BOUND_S, STOP_BOUND_S, STOP_PLAN

__all__ = ("COMMIT_BOUND_S", "DEMO_URI", "GIVEN", "Pipeline", "STOP_BOUND_S", "STOP_PLAN",
           "build_pipeline")
