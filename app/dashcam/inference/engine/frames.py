"""Frames for INT8 calibration from the user's own roads: images, a video file, or recordings.

A recordings folder is read as the recorder writes it (MPEG-TS segments,
possibly in subfolders) but any folder of video files works. Frames are
spread evenly over all the footage, in path order (time order for
segments), so calibration sees the whole drive and not its first minute;
only files that hold a chosen frame are decoded, and only up to it. Each
frame then goes through the run-time ``Preprocessor`` (the caller passes the
detector's), so INT8 scales are measured on exactly what the network sees.
"""

import logging
import os

import cv2

from dashcam.errors import EngineError

log = logging.getLogger(__name__)

VIDEO_EXTENSIONS = (".ts", ".mp4", ".mkv", ".avi", ".mov", ".m4v", ".h264")
# What OpenCV reads and writes in every build (WebP, JPEG 2000 and EXR vary).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".ppm", ".pgm")


def spread(total, count):
    """``count`` indices spread evenly over ``range(total)`` (the middle of each equal share)."""
    count = min(count, total)
    return [int((i + 0.5) * total / count) for i in range(count)]


def plan_samples(frame_counts, count):
    """``{file index: [frame indices]}`` spreading ``count`` frames over the files' frames as one run."""
    starts, total = [], 0
    for frames in frame_counts:
        starts.append(total)
        total += max(0, frames)
    plan = {}
    file_index = 0
    for position in spread(total, count):
        while file_index + 1 < len(starts) and position >= starts[file_index + 1]:
            file_index += 1
        plan.setdefault(file_index, []).append(position - starts[file_index])
    return plan


def files_in(folder, extensions):
    """Files under ``folder`` (recursively) with one of ``extensions``, in path order."""
    if not os.path.isdir(folder):
        raise EngineError(f"{folder} is not a folder")
    found = []
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        found.extend(os.path.join(root, n) for n in sorted(names) if n.lower().endswith(extensions))
    return found


def estimated_frames(capture):
    """Frames OpenCV reports for an open file (MPEG-TS: estimated from duration); at least 1."""
    frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    return max(frames, 1)


def video_frames(paths, count):
    """Up to ``count`` BGR frames spread over the video files ``paths``."""
    counts = []
    for path in paths:
        capture = cv2.VideoCapture(path)
        counts.append(estimated_frames(capture) if capture.isOpened() else 0)
        capture.release()
        if not counts[-1]:
            log.warning("%s: OpenCV cannot open it; skipped", path)
    for file_index, wanted in sorted(plan_samples(counts, count).items()):
        capture = cv2.VideoCapture(paths[file_index])
        position = 0
        try:
            for target in wanted:
                while position < target and capture.grab():
                    position += 1
                ok, image = capture.read()
                position += 1
                if not ok:
                    log.warning("%s ended before frame %d (OpenCV's frame count was an estimate)",
                                paths[file_index], target)
                    break
                yield image
        finally:
            capture.release()


def image_frames(paths, count):
    """Up to ``count`` images spread over ``paths``; unreadable ones are skipped with a warning."""
    for index in spread(len(paths), count):
        image = cv2.imread(paths[index], cv2.IMREAD_COLOR)
        if image is None:
            log.warning("%s: not an image OpenCV can read; skipped", paths[index])
            continue
        yield image


def calibration_frames(count, images=None, video=None, recordings=None):
    """``(description, BGR frames)`` from exactly one of an image folder, a video file or a recordings folder."""
    if sum(x is not None for x in (images, video, recordings)) != 1:
        raise EngineError("give one of --images DIR, --video FILE or --from-recordings N")
    if images is not None:
        paths = files_in(images, IMAGE_EXTENSIONS)
        where = f"images in {images}"
        frames = image_frames(paths, count)
    else:
        if video is not None and not os.path.isfile(video):
            raise EngineError(f"video file not found: {video}")
        paths = [video] if video is not None else files_in(recordings, VIDEO_EXTENSIONS)
        where = f"video {video}" if video is not None else f"recordings in {recordings}"
        frames = video_frames(paths, count)
    if not paths:
        raise EngineError(f"no {where} found: nothing to calibrate on")
    return f"{count} frames from {where} ({len(paths)} file(s))", frames


def preprocessed(frames, preprocessor):
    """Each frame through ``preprocessor``: its one buffer, refilled per frame (use it at once)."""
    for image in frames:
        yield preprocessor(image)
