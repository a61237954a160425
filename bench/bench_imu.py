"""The G-sensor's cost, measured: the detector's time per sample (the CPU an ``[imu] rate``
takes from inference), on a crafted drive at each rate, and the worker's time per sample
reading a chip on the stand-in bus (tests/imu_bus.py: the driver's decoding and the
worker's pacing, without the I2C transfer itself, which no bus here can time: about 0.2 ms
at 400 kHz for the 7 bytes each way, on the bus, not the CPU).

    PYTHONPATH=app:tests python bench/bench_imu.py [--seconds 60]
"""

import argparse
import json
import os
import resource
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

from dashcam.imu import ImuWorker, MotionDetector, Thresholds, open_imu_source  # noqa: E402
from dashcam.senses import Sample  # noqa: E402
from imu_bus import FakeBus, Mpu6050Map  # noqa: E402
from imu_traces import BRAKING, CRUISE, KNOCK, POTHOLE, PULL_AWAY, REST, trace  # noqa: E402

THRESHOLDS = Thresholds(1.2, 0.01, 0.45, 0.4, 0.45, 0.3, 0.05)


def cpu_s():
    usage = resource.getrusage(resource.RUSAGE_THREAD if hasattr(resource, "RUSAGE_THREAD")
                               else resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def detector_us(rate, seconds):
    phases = [REST, PULL_AWAY, CRUISE] + POTHOLE + [CRUISE, BRAKING, CRUISE, KNOCK, CRUISE]
    rows = trace(phases, rate=rate)
    repeat = max(1, int(seconds * rate / len(rows)))
    samples = [Sample(*row) for row in rows] * repeat
    detector = MotionDetector(THRESHOLDS)
    start = cpu_s()
    for sample in samples:
        detector.update(sample)
    return (cpu_s() - start) / len(samples) * 1e6


def worker_cpu_share(rate, seconds):
    bus = FakeBus({0x68: Mpu6050Map()})
    worker = ImuWorker("i2c://1/0x68?chip=mpu6050", lambda: open_imu_source(
        "i2c://1/0x68?chip=mpu6050", rate, open_bus=lambda n: bus), MotionDetector(THRESHOLDS),
        [].append, rate=rate)
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.monotonic()
    worker.start()
    worker.stop_event.wait(seconds)
    worker.stop(2.0)
    after = resource.getrusage(resource.RUSAGE_SELF)
    wall = time.monotonic() - started
    used = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return {"samples_per_s": round(worker.samples / wall, 1), "cpu_percent": round(
        100.0 * used / wall, 2)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="trace length per rate")
    args = parser.parse_args()
    result = {"load": os.getloadavg()[0]}
    for rate in (100, 200, 400):
        result[f"detector_us_per_sample_{rate}hz"] = round(detector_us(rate, args.seconds), 2)
        result[f"worker_{rate}hz"] = worker_cpu_share(rate, min(args.seconds, 10.0))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
