"""Parking mode: a parked car watched at a low frame rate, woken by an approaching car or an
impact (``mode``: the decisions; ``worker``: the stage; ``build``: from ``[parking]``)."""

from dashcam.parking.build import build_parking
from dashcam.parking.worker import ParkingWorker

__all__ = ("ParkingWorker", "build_parking")
