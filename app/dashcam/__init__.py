"""Edge dashcam for NVIDIA Jetson: DashCamNet detection, alerts, crash-safe evidence."""

__version__ = "0.1.0"
