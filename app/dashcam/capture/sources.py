"""Frame sources named by URI: CSI and USB cameras, RTSP, video files, the synthetic road.

=========================  ==============================================================
``csi://N``                Jetson CSI sensor N through GStreamer ``nvarguscamerasrc``
``v4l2:///dev/videoN``     a USB (UVC) camera, MJPG where offered
``rtsp://host/path``       a network camera (FFmpeg)
``PATH`` / ``file://PATH`` a video file, paced at its own frame rate; ``?realtime=0``: as fast as possible
``synthetic://?seed=7``    the synthetic road (``dashcam.synthetic``); ``realtime=0`` as for files
=========================  ==============================================================

A source has ``read()`` (a BGR image, ``None`` at the end of a file, or
``SourceError`` when a camera fails), ``skip()`` (the same, without decoding: True),
``close()``, ``fps``, ``frame_size`` (the
camera's ``(width, height)`` when its images come scaled to the network's input,
as a CSI camera's do, else None), and two policies
that the capture worker follows: ``paced`` (the worker waits out the frame
interval: files and synthetic in real time) and ``lossless`` (the worker waits
for the previous frame to be taken instead of overwriting it: files and
synthetic at full speed, where nothing is lost by waiting).
"""

import logging
import os
import re
from urllib.parse import parse_qsl

import cv2

from dashcam.errors import SourceError

log = logging.getLogger(__name__)

# The VIC (nvvidconv) flips the camera's frames before the recording's tee, so that video
# and detector see the same picture; after the tee it scales them to the network's input
# (the full-resolution frames are for the recording only) and converts them to BGRx, and
# videoconvert drops the padding byte: OpenCV's appsink takes BGR, not BGRx, before OpenCV
# 4.10 (JetPack 4.6, 5 and 6 ship 4.1.1, 4.5.4 and 4.8.0; opencv/opencv#25602).
# appsink drop=true max-buffers=1: GStreamer keeps only the newest frame, so a slow reader
# gets the latest picture instead of a growing queue; sync=false: hand frames over as they
# come instead of against the pipeline clock.
CSI_CAMERA = ("nvarguscamerasrc sensor-id={sensor} ! "
              "video/x-raw(memory:NVMM), width=(int){width}, height=(int){height}, "
              "framerate=(fraction){fps}/1, format=(string)NV12 ! ")
CSI_FLIP = "nvvidconv flip-method={flip} ! video/x-raw(memory:NVMM), format=(string)NV12 ! "
CSI_APPSINK = ("nvvidconv ! video/x-raw, {size}format=(string)BGRx ! "
               "videoconvert ! video/x-raw, format=(string)BGR ! "
               "appsink drop=true max-buffers=1 sync=false")
TURNED = (1, 3, 5, 7)   # nvvidconv flip-methods that turn the picture by 90 degrees

FALSE_WORDS = ("0", "false", "no", "off")
STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "http", "https")
SCHEMES = ("csi", "v4l2", "synthetic", "file") + STREAM_SCHEMES


def scheme_of(uri):
    """The URI's scheme in lower case (``csi``, ``rtsp``), or "" for a plain file path."""
    return uri.split("://", 1)[0].lower() if "://" in uri else ""


def split_query(uri):
    """``(uri without query, {key: value})``; a plain path keeps a ``?k=v`` suffix as query."""
    if "?" not in uri:
        return uri, {}
    base, query = uri.rsplit("?", 1)
    return base, dict(parse_qsl(query, keep_blank_values=True))


def csi_pipeline(sensor, width, height, fps, flip=0, tee="", scale_to=None):
    """The GStreamer pipeline string for CSI sensor ``sensor`` (Jetson's Argus camera stack).

    ``flip``: nvvidconv's flip-method (0 none, 2 upside down). ``tee``: a fragment
    ending in a ``tee`` branch that the flipped full-resolution frames pass through (the
    recorder's encoder, ``recording.gst.tee``). ``scale_to``: ``(width, height)`` of the
    frames handed to Python (the network's input), else the camera's.
    """
    size = "width=(int){}, height=(int){}, ".format(*map(int, scale_to)) if scale_to else ""
    return (CSI_CAMERA.format(sensor=int(sensor), width=int(width), height=int(height),
                              fps=int(round(fps)))
            + (CSI_FLIP.format(flip=int(flip)) if int(flip) else "")
            + (tee + " ! " if tee else "") + CSI_APPSINK.format(size=size))


def oriented(width, height, flip):
    """The frame size after nvvidconv's ``flip``: a quarter turn swaps the sides."""
    return (height, width) if int(flip) in TURNED else (width, height)


def gstreamer_available(build_information=None):
    """Whether this OpenCV was built with GStreamer (from ``cv2.getBuildInformation()``)."""
    info = build_information if build_information is not None else cv2.getBuildInformation()
    match = re.search(r"^\s*GStreamer:\s*(\S+)", info, re.MULTILINE)
    return bool(match) and match.group(1).upper().startswith("YES")


def require_gstreamer(uri, build_information=None):
    if not gstreamer_available(build_information):
        raise SourceError(
            "{}: this OpenCV ({} from {}) was built without GStreamer, which CSI cameras "
            "need: on a Jetson use JetPack's OpenCV (`sudo apt install python3-opencv` from "
            "JetPack, or nvidia-opencv) and remove the pip wheel that shadows it "
            "(`pip uninstall opencv-python opencv-python-headless`)".format(
                uri, cv2.__version__, os.path.dirname(cv2.__file__)))


class OpenCVSource:
    """A ``cv2.VideoCapture`` on a camera, stream or file (see ``open_source``)."""

    def __init__(self, uri, capture, fps, live, realtime=True, description="", frame_size=None):
        self.uri = uri
        self.capture = capture
        self.fps = fps
        self.live = live
        self.paced = not live and realtime
        self.lossless = not live and not realtime
        self.description = description or uri
        self.frame_size = frame_size   # (w, h) the images stand for when scaled, else None

    def read(self):
        ok, image = self.capture.read()
        if ok and image is not None:
            return image
        return self._ended()

    def skip(self):
        """Take the next frame without decoding it (``grab``): True, or as ``read`` at the end."""
        return True if self.capture.grab() else self._ended()

    def _ended(self):
        if self.live:
            raise SourceError("{} returned no frame (unplugged, or the stream stopped)".format(
                self.uri))
        return None  # a file: the end

    def close(self):
        if self.capture is not None:
            self.capture.release()
            self.capture = None


class SyntheticSource:
    """Frames of a ``SyntheticWorld``, in order from frame 0; ``truths`` of the last frame."""

    live = False
    frame_size = None

    def __init__(self, uri, world, realtime=True):
        self.uri = uri
        self.world = world
        self.fps = float(world.fps)
        self.paced = realtime
        self.lossless = not realtime
        self.index = 0
        self.truths = []
        self.description = f"synthetic road, {self.fps:g} fps"

    def read(self):
        image, self.truths = self.world.frame(self.index)
        self.index += 1
        return image

    def skip(self):
        """Pass the next frame by without drawing it."""
        self.index += 1
        return True

    def close(self):
        pass


def _flag(params, key, default=True):
    value = params.pop(key, None)
    return default if value is None else value.strip().lower() not in FALSE_WORDS


def _open_capture(uri, target, api, what_to_check):
    capture = cv2.VideoCapture(target, api)
    if not capture.isOpened():
        capture.release()
        raise SourceError(f"cannot open {uri}: {what_to_check}")
    return capture


def _open_csi(uri, base, params, width, height, fps, flip, tee=None, scale_to=None):
    require_gstreamer(uri)
    sensor = base[len("csi://"):] or "0"
    if not sensor.isdigit():
        raise SourceError(f"{uri}: the sensor must be a number, as in csi://0")
    width, height = int(params.get("width", width)), int(params.get("height", height))
    fps = float(params.get("fps", fps))
    flip = int(params.get("flip", flip))
    pipeline = csi_pipeline(sensor, width, height, fps, flip, tee() if tee else "", scale_to)
    log.info("%s: GStreamer pipeline: %s", uri, pipeline)
    capture = _open_capture(uri, pipeline, cv2.CAP_GSTREAMER,
                            "check the ribbon cable and `nvgstcapture-1.0`; if the Argus "
                            "daemon is wedged after a crash: `sudo systemctl restart nvargus-daemon`")
    scaled = ", scaled to {}x{} on the VIC".format(*scale_to) if scale_to else ""
    return OpenCVSource(uri, capture, fps, live=True,
                        description=f"CSI sensor {sensor} {width}x{height} @ {fps:g} fps{scaled}",
                        frame_size=oriented(width, height, flip) if scale_to else None)


def _open_v4l2(uri, base, params, width, height, fps):
    device = base[len("v4l2://"):] or "/dev/video0"
    if device.isdigit():
        device = "/dev/video" + device
    width, height = int(params.get("width", width)), int(params.get("height", height))
    fps = float(params.get("fps", fps))
    capture = _open_capture(uri, device, cv2.CAP_V4L2,
                            "check that {} exists (`ls /dev/video*`) and that this user is in "
                            "group video".format(device))
    # MJPG first: over USB 2 raw YUYV cannot carry 1080p at 30 fps, MJPG can.
    capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*"MJPG"))
    capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
    capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
    capture.set(cv2.CAP_PROP_FPS, fps)
    fourcc = int(capture.get(cv2.CAP_PROP_FOURCC))
    granted = (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
               int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)), capture.get(cv2.CAP_PROP_FPS))
    codec = "".join(chr((fourcc >> (8 * i)) & 0xFF) for i in range(4)).strip("\0") or "?"
    log.info("%s: requested MJPG %dx%d @ %g fps, granted %s %dx%d @ %g fps",
             uri, width, height, fps, codec, granted[0], granted[1], granted[2])
    if granted[:2] != (width, height):
        log.warning("%s: the camera gives %dx%d, not the %dx%d asked for",
                    uri, granted[0], granted[1], width, height)
    return OpenCVSource(uri, capture, granted[2] or fps, live=True,
                        description="{} {} {}x{} @ {:g} fps".format(
                            device, codec, granted[0], granted[1], granted[2] or fps))


def _open_stream(uri, base):
    api_params = []
    for name, value in (("CAP_PROP_OPEN_TIMEOUT_MSEC", 5000), ("CAP_PROP_READ_TIMEOUT_MSEC", 5000)):
        if hasattr(cv2, name):  # OpenCV 4.5.2+; older ones wait on FFmpeg's defaults
            api_params += [getattr(cv2, name), value]
    if api_params:
        capture = cv2.VideoCapture(base, cv2.CAP_FFMPEG, api_params)
    else:
        capture = cv2.VideoCapture(base, cv2.CAP_FFMPEG)
    if not capture.isOpened():
        capture.release()
        raise SourceError("cannot open {}: check the address, the credentials and that the "
                          "camera is reachable (`ffprobe {}`)".format(uri, base))
    fps = capture.get(cv2.CAP_PROP_FPS) or None
    return OpenCVSource(uri, capture, fps, live=True)


def _file_path(base):
    path = base[len("file://"):] if base.startswith("file://") else base
    if not os.path.isfile(path):
        raise SourceError("video file not found: {} (check the path, or use csi://0, "
                          "v4l2:///dev/video0, rtsp://... or synthetic://)".format(path))
    return path


def _undecodable(path):
    return SourceError("cannot decode video file {}: no decoder of this OpenCV reads it (is it a "
                       "video? `ffprobe {}` tells)".format(path, path))


def _open_file(uri, base, params):
    path = _file_path(base)
    realtime = _flag(params, "realtime")
    capture = cv2.VideoCapture(path, cv2.CAP_ANY)
    if not capture.isOpened():
        capture.release()
        raise _undecodable(path)
    fps = capture.get(cv2.CAP_PROP_FPS)
    if not fps or fps != fps or fps > 1000:
        log.warning("%s: the file states no frame rate; pacing at 30 fps", path)
        fps = 30.0
    return OpenCVSource(uri, capture, fps, live=False, realtime=realtime,
                        description="{} @ {:g} fps{}".format(path, fps,
                                                           "" if realtime else ", full speed"))


def _open_synthetic(uri, params):
    from dashcam.synthetic import SyntheticWorld  # numpy/cv2 drawing: only when asked for

    realtime = _flag(params, "realtime")
    query = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
    world = SyntheticWorld.from_uri("synthetic://" + ("?" + query if query else ""))
    return SyntheticSource(uri, world, realtime)


def check_source(uri):
    """Fail now, with the fix, on what no retry can mend: an unknown scheme, a missing
    or undecodable file, a CSI camera with an OpenCV that lacks GStreamer."""
    base, params = split_query(uri)
    scheme = scheme_of(base)
    if scheme == "csi":
        require_gstreamer(uri)
    elif scheme == "synthetic":
        _open_synthetic(uri, params).close()  # checks the keys; draws nothing yet
    elif scheme in ("", "file"):
        source = _open_file(uri, base, params)
        try:
            if source.read() is None:  # it opens, but yields no frame: not a video
                raise _undecodable(_file_path(base))
        finally:
            source.close()
    elif scheme not in SCHEMES:
        raise unknown_source(uri)


def expected_frame(uri, height=1080, fps=30.0):
    """``(height, fps)`` of the frames ``uri`` gives, where known before it opens: what a
    camera is asked for (``height``/``fps``, the URI's keys winning, as in ``open_source``; a
    V4L2 camera may grant less) and a synthetic road's; ``(None, None)`` for files, streams."""
    params = split_query(uri)[1]
    scheme = scheme_of(uri)
    if scheme in ("csi", "v4l2"):
        return int(params.get("height", height)), float(params.get("fps", fps))
    if scheme == "synthetic":
        world = _open_synthetic(uri, params).world
        return world.height, world.fps
    return None, None


def open_source(uri, width=1920, height=1080, fps=30.0, flip=0, tee=None, scale_to=None):
    """The source for ``uri``; ``width``/``height``/``fps`` are asked of cameras (URI
    query keys of the same names win); ``flip`` is nvvidconv's flip-method for CSI;
    ``tee()``, if given, returns the CSI pipeline's ``tee`` fragment (``csi_pipeline``),
    asked again at each (re)opening; ``scale_to`` ``(width, height)``: a CSI camera's frames
    come at this size (the network's input; the source's ``frame_size`` is the camera's).

    Raises ``SourceError`` with what to check.
    """
    base, params = split_query(uri)
    scheme = scheme_of(base)
    if scheme == "csi":
        return _open_csi(uri, base, params, width, height, fps, flip, tee, scale_to)
    if scheme == "v4l2":
        return _open_v4l2(uri, base, params, width, height, fps)
    if scheme in STREAM_SCHEMES:
        return _open_stream(uri, uri)
    if scheme == "synthetic":
        return _open_synthetic(uri, params)
    if scheme in ("", "file"):
        return _open_file(uri, base, params)
    raise unknown_source(uri)


def unknown_source(uri):
    return SourceError("unknown source {!r}: use csi://N, v4l2:///dev/videoN, rtsp://..., "
                       "a video file or synthetic://".format(uri))
