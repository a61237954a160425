"""The running application: the composition root that builds and runs every part, and its status."""

from dashcam.runtime.pipeline import DEMO_URI, Pipeline, build_pipeline

__all__ = ("DEMO_URI", "Pipeline", "build_pipeline")
