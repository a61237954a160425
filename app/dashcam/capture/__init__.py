"""Capture: frame sources named by URI and the thread that reads them into the newest-frame slot."""

from dashcam.capture.sources import check_source, expected_frame, open_source
from dashcam.capture.worker import BACKOFF_CAP_S, CaptureWorker

__all__ = ("BACKOFF_CAP_S", "CaptureWorker", "check_source", "expected_frame", "open_source")
