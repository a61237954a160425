"""The doctor's checks: each looks at one thing the dashcam needs and says ok, warn or fail,
and, when not ok, the fix. A warning is something this machine does without (no GPU, no
camera yet); a failure is something the configured dashcam cannot run without."""

import json
import os
import re
import sqlite3
import sys
from collections import namedtuple

from dashcam.errors import DashcamError
from dashcam.export.files import human_bytes

OK, WARN, FAIL = "ok", "warn", "fail"


class Check(namedtuple("Check", "name status detail fix")):
    __slots__ = ()

    def as_dict(self):
        return dict(self._asdict())


# What one run of the doctor is about: the configuration, the files it names, the machine.
Context = namedtuple("Context", "config db_path recordings jetson l4t gpu service_user")

# L4T release (major, minor) -> JetPack; the supported ones (MISSION.md's platforms)
JETPACK = {(32, 6): "4.6", (32, 7): "4.6.x", (35, 1): "5.0.2", (35, 2): "5.1", (35, 3): "5.1.1",
           (35, 4): "5.1.2", (35, 5): "5.1.3", (35, 6): "5.1.4", (36, 2): "6.0 DP",
           (36, 3): "6.0", (36, 4): "6.1 or 6.2"}
SERIAL_PATTERNS = ("/dev/ttyTHS*", "/dev/ttyUSB*", "/dev/ttyACM*")
GPIO_RULES = ("/etc/udev/rules.d/60-dashcam-gpio.rules", "/etc/udev/rules.d/99-gpio.rules")
DISK_FAIL, DISK_WARN = 512 * 1024 ** 2, 2 * 1024 ** 3


def l4t_release(host):
    """``(major, minor, patch)`` of the Jetson's L4T release, or None."""
    text = host.read("/etc/nv_tegra_release") or ""
    match = re.search(r"R(\d+) \(release\), REVISION: (\d+)\.?(\d*)", text)
    if match:
        return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)
    status, out = host.run(["dpkg-query", "-W", "-f=${Version}", "nvidia-l4t-core"])
    match = re.match(r"(\d+)\.(\d+)\.?(\d*)", out or "") if status == 0 else None
    return tuple(int(g or 0) for g in match.groups()) if match else None


def check_python(host, ctx):
    version = "{}.{}.{}".format(*sys.version_info[:3])
    if sys.version_info < (3, 6):
        return Check("python", FAIL, "Python " + version, "use Python 3.6 or newer")
    return Check("python", OK, f"Python {version} ({sys.executable})", None)


def check_system(host, ctx):
    release = host.read("/etc/os-release") or ""
    match = re.search(r'^PRETTY_NAME="?([^"\n]*)', release, re.M)
    name = match.group(1) if match else "unknown Linux"
    if not ctx.jetson:
        return Check("system", OK, "{}, {}: not a Jetson (no JetPack needed; ONNX Runtime runs "
                     "the network where there is no TensorRT)".format(name, os.uname().machine),
                     None)
    if ctx.l4t is None:
        return Check("system", WARN, f"{name} on {ctx.jetson}: L4T release unknown",
                     "JetPack 4.6 or newer is supported; check /etc/nv_tegra_release")
    l4t = "L4T R{}.{}.{}".format(*ctx.l4t)
    jetpack = JETPACK.get(ctx.l4t[:2])
    if jetpack is None:
        return Check("system", WARN, "{} on {}, {}: not a JetPack this dashcam was made for"
                     .format(name, ctx.jetson, l4t), "use JetPack 4.6, 5.1 or 6")
    return Check("system", OK, f"{name} on {ctx.jetson}, {l4t} (JetPack {jetpack})",
                 None)


def check_opencv(host, ctx):
    cv2 = host.module("cv2")
    csi = ctx.config.source.uri.startswith("csi://")
    if isinstance(cv2, str):
        return Check("opencv", FAIL, f"OpenCV cannot be imported ({cv2})",
                     "on a Jetson: sudo apt install python3-opencv and a venv made with "
                     "--system-site-packages; elsewhere: pip install -e '.[cpu]'")
    info = cv2.getBuildInformation()
    match = re.search(r"GStreamer:\s*(\S+)", info)
    if match and match.group(1).upper().startswith("YES"):
        return Check("opencv", OK, f"OpenCV {cv2.__version__} with GStreamer", None)
    fix = ("use JetPack's OpenCV: pip uninstall opencv-python opencv-python-headless, "
           "in a venv made with --system-site-packages")
    if csi or ctx.jetson:
        return Check("opencv", FAIL if csi else WARN, "OpenCV {} without GStreamer ({}): csi:// "
                     "cannot open".format(cv2.__version__, cv2.__file__), fix)
    return Check("opencv", WARN, "OpenCV {} without GStreamer (the pip wheel): csi:// needs "
                 "JetPack's; v4l2://, files, rtsp:// and synthetic:// work".format(cv2.__version__),
                 None)


def check_camera(host, ctx):
    uri = ctx.config.source.uri
    videos = host.glob("/dev/video*")
    found = ", ".join(videos) if videos else "no /dev/video*"
    if not uri:
        return Check("camera", WARN, "no camera configured: [source] uri is empty, the "
                     "synthetic demo road would run ({})".format(found),
                     "set [source] uri = csi://0 or v4l2:///dev/video0 in the configuration")
    if uri.startswith("synthetic://"):
        return Check("camera", WARN, f"the synthetic demo road, no camera ({found})",
                     "set [source] uri = csi://0 or v4l2:///dev/video0 in the configuration")
    if uri.startswith("csi://"):
        if not host.exists("/tmp/argus_socket"):
            return Check("camera", FAIL, "{}: NVIDIA's Argus daemon is not running (no "
                         "/tmp/argus_socket)".format(uri), "sudo systemctl restart nvargus-daemon"
                         if ctx.jetson else "a CSI camera needs a Jetson; use v4l2:///dev/videoN")
        if not videos:
            return Check("camera", FAIL, f"{uri}: no camera is connected (no /dev/video*)",
                         "check the ribbon cable, then reboot")
        return Check("camera", OK, f"{uri}: Argus daemon up, {found}", None)
    if uri.startswith("v4l2://"):
        device = uri[len("v4l2://"):].split("?")[0]
        if not host.exists(device):
            return Check("camera", FAIL, f"{uri}: {device} is not there ({found})",
                         "plug the camera in, or set [source] uri to one of the devices found")
        if not host.can_use(device):
            return Check("camera", WARN, f"{uri}: {device} is not usable by this user",
                         "the service's user is in the video group; for yourself: "
                         "sudo usermod -aG video $USER")
        return Check("camera", OK, f"{uri}: {device} present", None)
    if "://" in uri and not uri.startswith("file://"):
        return Check("camera", OK, f"{uri}: a network camera (not probed)", None)
    path = uri[len("file://"):] if uri.startswith("file://") else uri
    path = ctx.config.path(path.split("?")[0])
    if not host.exists(path):
        return Check("camera", FAIL, f"video file {path} is not there",
                     "fix [source] uri")
    return Check("camera", WARN, f"a video file, no camera: {path}", None)


def _accelerated(ctx):
    """Whether TensorRT should run here: a GPU is present, or the configuration insists."""
    return ctx.gpu or ctx.config.model.backend == "tensorrt"


def _missing(ctx, name, label, reason, fix, without):
    """A GPU library that is not here: a warning off a GPU (``without`` says what runs
    instead), a failure where there is one."""
    if not _accelerated(ctx):
        return Check(name, WARN, f"no {label} here (no NVIDIA GPU): {without}", None)
    return Check(name, FAIL, f"no {label} on a machine with an NVIDIA GPU ({reason})",
                 fix)


def check_tensorrt(host, ctx):
    trt = host.module("tensorrt")
    if isinstance(trt, str):
        return _missing(ctx, "tensorrt", "TensorRT", trt, "on a Jetson: sudo apt install "
                        "python3-libnvinfer, and a venv made with --system-site-packages",
                        "ONNX Runtime runs the network on the CPU")
    return Check("tensorrt", OK, f"TensorRT {trt.__version__}", None)


def check_pycuda(host, ctx):
    pycuda = host.module("pycuda")
    if isinstance(pycuda, str):
        return _missing(ctx, "pycuda", "pycuda", pycuda, "pip install pycuda (on a Jetson it "
                        "compiles: nvcc must be on PATH, export PATH=/usr/local/cuda/bin:$PATH)",
                        "not needed by ONNX Runtime")
    version = getattr(pycuda, "VERSION_TEXT", "?")
    driver = host.module("pycuda.driver")
    if isinstance(driver, str):
        status = FAIL if ctx.gpu else WARN
        return Check("pycuda", status, f"pycuda {version} without a CUDA driver ({driver})",
                     "install JetPack's CUDA (or the NVIDIA driver)" if ctx.gpu else None)
    return Check("pycuda", OK, f"pycuda {version}", None)


def check_onnxruntime(host, ctx):
    ort = host.module("onnxruntime")
    needed = ctx.config.model.backend == "onnxruntime" or not _accelerated(ctx)
    if isinstance(ort, str):
        return Check("onnxruntime", FAIL if needed else WARN, f"no ONNX Runtime ({ort})",
                     "pip install -e '.[cpu]' (or onnxruntime)")
    return Check("onnxruntime", OK, "ONNX Runtime {} ({}){}".format(
        ort.__version__, ", ".join(ort.get_available_providers()),
        ": runs the network" if needed else ""), None)


def check_model(host, ctx):
    """Which model runs, and whether its detections mean anything on the configured source."""
    from dashcam.inference.models import model_file, standin_warning

    path = model_file(ctx.config)
    if not host.exists(path):
        return Check("model", FAIL, f"model file not found: {path}",
                     "fix [property] onnx-file, or `dashcam model fetch` to get DashCamNet")
    warning = standin_warning(path, ctx.config.source.uri)
    if warning:
        return Check("model", WARN, warning, "dashcam model fetch, then set the [property] "
                     "onnx-file line it prints")
    return Check("model", OK, path, None)


def check_engine(host, ctx):
    """Whether each TensorRT engine's sidecar says it was built with this TensorRT on this device."""
    trt = host.module("tensorrt")
    if isinstance(trt, str):
        return Check("engine", WARN, "no TensorRT here: no engine to check", None)
    from dashcam.inference.engine.resolve import default_engine_dir
    from dashcam.inference.models import model_file

    model = model_file(ctx.config)
    engine_dir = ctx.config.path(ctx.config.model.engine_dir) or default_engine_dir()
    engines = host.glob(os.path.join(engine_dir, "*.engine")) + \
        host.glob(os.path.join(os.path.dirname(model), "*.engine"))
    if not engines:
        return Check("engine", WARN, f"no engine built yet for {os.path.basename(model)}",
                     "none needed: the first `dashcam run` builds it (minutes on a Nano)")
    problems = []
    for engine in engines:
        sidecar = host.read(engine + ".json")
        reason = engine_mismatch(sidecar, trt.__version__, ctx.jetson)
        if reason:
            problems.append(f"{os.path.basename(engine)}: {reason}")
    if problems:
        return Check("engine", FAIL, "; ".join(problems),
                     "delete those engines: the next start builds them for this device")
    return Check("engine", OK, "{} engine(s) built for this TensorRT and device".format(
        len(engines)), None)


def engine_mismatch(sidecar_text, tensorrt_version, device_model):
    """Why an engine's sidecar (JSON text) does not fit here, or None when it fits."""
    try:
        sidecar = json.loads(sidecar_text) if sidecar_text else None
    except ValueError:
        sidecar = None
    if not isinstance(sidecar, dict):
        return "no readable sidecar: what it was built for is unknown"
    if sidecar.get("tensorrt") != tensorrt_version:
        return "built with TensorRT {}, this is {}".format(sidecar.get("tensorrt"),
                                                          tensorrt_version)
    if device_model and sidecar.get("device_model") not in (None, device_model):
        return "built on {}, this is {}".format(sidecar.get("device_model"), device_model)
    return None


def check_gpio(host, ctx):
    if not ctx.jetson:
        chips = host.glob("/dev/gpiochip*")
        if chips and host.has_module("gpiozero"):
            return Check("gpio", OK, "gpiozero with {}".format(", ".join(chips)), None)
        return Check("gpio", WARN, "no GPIO here (not a Jetson): the LED alert is unavailable",
                     None)
    if not host.has_module("Jetson.GPIO"):
        return Check("gpio", FAIL, "Jetson.GPIO is not installed: the LED cannot be driven",
                     "sudo apt install python3-jetson-gpio (or pip install Jetson.GPIO) and a "
                     "venv made with --system-site-packages")
    members = host.group_members("gpio")
    if members is None or not any(host.exists(rule) for rule in GPIO_RULES):
        return Check("gpio", WARN, "no gpio group or no udev rule for it: GPIO needs root",
                     "sudo dashcam service install")
    if ctx.service_user and ctx.service_user not in members:
        return Check("gpio", WARN, "the service's user is not in the gpio group",
                     "sudo dashcam service install")
    return Check("gpio", OK, "Jetson.GPIO, gpio group and udev rule in place", None)


def check_serial(host, ctx):
    ports = [p for pattern in SERIAL_PATTERNS for p in host.glob(pattern)]
    if not host.has_module("serial"):
        return Check("serial", FAIL, "pyserial is not installed", "pip install -e .")
    if not ports:
        return Check("serial", WARN, "no serial port here (ttyTHS*, ttyUSB*, ttyACM*): the "
                     "serial alert line is unavailable", None)
    members = host.group_members("dialout") or set()
    if ctx.service_user and ctx.service_user not in members:
        return Check("serial", WARN, "{}; the service's user is not in dialout".format(
            ", ".join(ports)), "sudo dashcam service install")
    return Check("serial", OK, ", ".join(ports), None)


def check_disk(host, ctx):
    folder = os.path.dirname(os.path.abspath(ctx.db_path))
    total, free = host.disk(folder)
    detail = f"{human_bytes(free)} free of {human_bytes(total)} at {folder}"
    quota = _quota_bytes(ctx.config, total)
    if quota is not None:
        used = host.folder_bytes(ctx.recordings) if host.exists(ctx.recordings) else 0
        detail += f"; recordings {human_bytes(used)} of a {human_bytes(quota)} quota"
    if free < DISK_FAIL:
        return Check("disk", FAIL, detail, "free space (or lower [recording] quota): the store "
                     "cannot keep writing")
    if free < DISK_WARN or free < total * 0.1:
        return Check("disk", WARN, detail, "free space, or lower [recording] quota")
    return Check("disk", OK, detail if quota is not None else
                 detail + "; no [recording] quota in this build", None)


def _quota_bytes(config, volume_bytes):
    """[recording] quota in bytes, where this build has recording (a (kind, value) size)."""
    section = config.sections.get("recording")
    try:
        kind, value = section.quota
    except (AttributeError, TypeError, ValueError):
        return None
    return int(value * volume_bytes / 100.0) if kind == "percent" else int(value)


def check_database(host, ctx):
    from dashcam.store import StoreReader, quick_check, schema_version

    if not host.exists(ctx.db_path):
        return Check("database", WARN, "no store yet at {} (the first run creates it)".format(
            ctx.db_path), None)
    try:
        with StoreReader(ctx.db_path) as reader:
            verdict = quick_check(reader.conn)
            version = schema_version(reader.conn)
    except (DashcamError, OSError, sqlite3.DatabaseError) as error:
        verdict, version = str(error), None
    size = human_bytes(os.path.getsize(ctx.db_path))
    if verdict != "ok":
        return Check("database", FAIL, f"{ctx.db_path} ({size}): {verdict}",
                     "stop the service, export what can be read (dashcam export), move the file "
                     "aside; the next start makes a new one")
    return Check("database", OK, "{}: {}, schema version {}, quick_check ok".format(
        ctx.db_path, size, version), None)


def check_last_run(host, ctx):
    """What the newest run's summary says went wrong: parts that failed or would not stop,
    records the store lost, video that could not be recorded."""
    from dashcam.store import StoreReader

    if not host.exists(ctx.db_path):
        return Check("last-run", WARN, "no run yet", None)
    try:
        with StoreReader(ctx.db_path) as reader:
            run = reader.last_run()
    except (DashcamError, OSError, sqlite3.DatabaseError) as error:
        return Check("last-run", WARN, f"cannot read the runs: {error}", None)
    if run is None:
        return Check("last-run", WARN, "no run yet", None)
    summary = json.loads(run["summary"] or "{}")
    name = "run {} ({} to {})".format(run["id"], run["started_at"], run["ended_at"] or "now")
    problems = ["{} failed: {}".format(worker, error)
                for worker, error in sorted((summary.get("failed_workers") or {}).items())]
    problems += ["{} did not stop".format(w) for w in summary.get("stuck") or ()]
    if summary.get("records_lost"):
        problems.append("{} records lost by the store".format(summary["records_lost"]))
    if (summary.get("recording") or {}).get("unavailable"):
        problems.append("no video: " + summary["recording"]["unavailable"])
    if not problems:
        return Check("last-run", OK, name + ": every part ran and stopped in order", None)
    status = FAIL if summary.get("failed") else WARN
    return Check("last-run", status, "{}: {}".format(name, "; ".join(problems)),
                 "the log of that run says why (journalctl -u dashcam, or -v by hand)")


def check_service(host, ctx):
    from dashcam.service.install import UNIT

    if not host.exists("/run/systemd/system"):
        return Check("service", WARN, "systemd is not running here (a container or chroot): "
                     "the service cannot run", None)
    if not host.exists("/etc/systemd/system/" + UNIT):
        return Check("service", WARN, "the service is not installed: dashcam runs only by hand",
                     "sudo dashcam service install --now")
    status, out = host.run(["systemctl", "show", UNIT, "-p", "ActiveState", "-p", "SubState",
                            "-p", "NRestarts", "-p", "StatusText", "-p", "UnitFileState"])
    shown = dict(line.partition("=")[::2] for line in (out or "").splitlines())
    detail = "{} {}/{}, {}, restarted {} times: {}".format(
        UNIT, shown.get("ActiveState"), shown.get("SubState"), shown.get("UnitFileState"),
        shown.get("NRestarts", "?"), shown.get("StatusText") or "-")
    if shown.get("ActiveState") == "active":
        return Check("service", OK, detail, None)
    return Check("service", FAIL, detail, "journalctl -u dashcam -n 50 says why; then "
                 "sudo systemctl restart dashcam")


CHECKS = (check_python, check_system, check_opencv, check_camera, check_model, check_tensorrt,
          check_pycuda, check_onnxruntime, check_engine, check_gpio, check_serial, check_disk,
          check_database, check_last_run, check_service)
