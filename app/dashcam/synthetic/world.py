"""The synthetic road world: a pure function from (seed, frame index) to a frame and its truth.

Nothing is simulated step by step. The seed fixes a schedule of scenes (see
``scene``) and each scene's actors with analytic trajectories (see ``actors``),
so any frame can be rendered directly, in any order, bit-identically.
"""

from collections import OrderedDict, namedtuple
from urllib.parse import parse_qsl, urlsplit

import cv2
import numpy as np

from dashcam.records import DONTCARE, LABELS
from dashcam.errors import SourceError
from dashcam.synthetic.actors import OCCLUDER_FILL, spawn_actors
from dashcam.synthetic.camera import Camera
from dashcam.synthetic.scenarios import PERIOD_S, SCENARIOS, lead_truth, scenario_scene
from dashcam.synthetic.scene import BLOCK_S, draw_lane_marks, render_background, scenes_of_block
from dashcam.synthetic.shapes import Sketch

# The model card's labelling guide: objects under 60 % visible are not
# annotated (they become DontCare regions); boxes under 10 x 10 px at
# 1920 x 1080 are not annotated at all.
MIN_VISIBLE = 0.6
MIN_BOX_PX = 10.0
# Sensor noise amplitude (grey levels, peak to peak); a fixed tile shifted per frame.
NOISE = 8
NOISE_PAD = 32


class GroundTruth(namedtuple("GroundTruth", "label class_id x1 y1 x2 y2 truncated occluded track_id")):
    """One labelled object (or a DontCare region, class_id -1) in frame pixels.

    The box is the visible extent clipped to the frame (x2, y2 exclusive);
    a DontCare region is the whole object's extent clipped to the frame;
    ``truncated`` is the fraction of the object outside the frame (0..1);
    ``occluded`` is KITTI's 0 fully visible, 1 partly, 2 largely occluded.
    A bicycle's rider is labelled as a person of its own, with its bicycle's
    ``track_id`` (a label and a track id name one object).
    """

    __slots__ = ()

    @property
    def box(self):
        return (self.x1, self.y1, self.x2, self.y2)


def _visible(box, width, height, occluders):
    """Visible box, clipped area and visible area of ``box`` behind ``occluders``.

    Exact for rectangles: the clipped box is cut into cells by every occluder
    edge, and a cell is hidden when an occluder covers it.
    """
    x1, y1, x2, y2 = max(box[0], 0.0), max(box[1], 0.0), min(box[2], width), min(box[3], height)
    if x2 <= x1 or y2 <= y1:
        return None, 0.0, 0.0
    area = (x2 - x1) * (y2 - y1)
    occ = [o for o in occluders if o[0] < x2 and o[2] > x1 and o[1] < y2 and o[3] > y1]
    if not occ:
        return (x1, y1, x2, y2), area, area
    o = np.array(occ)
    xs = np.unique(np.clip(np.concatenate(([x1, x2], o[:, 0], o[:, 2])), x1, x2))
    ys = np.unique(np.clip(np.concatenate(([y1, y2], o[:, 1], o[:, 3])), y1, y2))
    mx, my = (xs[:-1] + xs[1:]) / 2.0, (ys[:-1] + ys[1:]) / 2.0
    inside_x = (mx[None, :] > o[:, 0:1]) & (mx[None, :] < o[:, 2:3])      # occluder x column
    inside_y = (my[None, :] > o[:, 1:2]) & (my[None, :] < o[:, 3:4])      # occluder x row
    hidden = (inside_y[:, :, None] & inside_x[:, None, :]).any(axis=0)    # row x column
    cell = np.outer(np.diff(ys), np.diff(xs))
    shown = ~hidden
    visible = float(cell[shown].sum())
    if visible <= 0.0:
        return None, area, 0.0
    rows, cols = np.nonzero(shown)
    vbox = (float(xs[cols.min()]), float(ys[rows.min()]), float(xs[cols.max() + 1]), float(ys[rows.max() + 1]))
    return vbox, area, visible


class SyntheticWorld:
    """A deterministic dashcam view of a road: ``frame(index) -> (image, truths)``.

    Defaults: seed 0, 1920 x 1080 pixels, 30 frames/s. Images are BGR uint8.
    A world caches the last few scenes' set-up and backdrops; it is not
    thread-safe (give each thread its own world: same seed, same frames).
    """

    QUERY_KEYS = ("seed", "fps", "width", "height", "scenario")

    def __init__(self, seed=0, width=1920, height=1080, fps=30.0, scenario=None):
        if scenario is not None and scenario not in SCENARIOS:
            raise ValueError("unknown scenario {!r}: use one of {}".format(
                scenario, ", ".join(SCENARIOS)))
        self.scenario = scenario   # None: the plain world; else see ``scenarios``
        self.seed = int(seed)
        self.width = int(width)
        self.height = int(height)
        self.fps = float(fps)
        self.camera = Camera(self.width, self.height)
        self._min_w = MIN_BOX_PX * self.width / 1920.0
        self._min_h = MIN_BOX_PX * self.height / 1080.0
        self._blocks = OrderedDict()        # block -> [(scene, actors)], a few most recent
        self._backgrounds = OrderedDict()   # scene key -> image
        rs = np.random.RandomState(self.seed % (2 ** 32))
        self._noise = rs.randint(0, NOISE + 1, size=(self.height + NOISE_PAD, self.width + NOISE_PAD, 3)
                                 ).astype(np.uint8)

    @classmethod
    def from_uri(cls, uri):
        """``synthetic://?seed=7&fps=30&width=1920&height=1080&scenario=brake``; every key
        optional."""
        return cls(**parse_uri(uri))

    def __repr__(self):
        return "SyntheticWorld(seed={}, width={}, height={}, fps={:g}{})".format(
            self.seed, self.width, self.height, self.fps,
            f", scenario={self.scenario!r}" if self.scenario else "")

    def scene_at(self, index):
        """(scene, actors, tau) for a frame index."""
        t = index / self.fps
        block = int(t // (PERIOD_S if self.scenario else BLOCK_S))
        entries = self._blocks.get(block)
        if entries is None:
            if self.scenario:
                entries = [scenario_scene(self.scenario, self.seed, block)]
            else:
                entries = [(s, spawn_actors(s)) for s in scenes_of_block(self.seed, block)]
            self._blocks[block] = entries
            while len(self._blocks) > 3:
                self._blocks.popitem(last=False)
        for scene, actors in entries:
            if t < scene.start + scene.duration:
                return scene, actors, t - scene.start
        scene, actors = entries[-1]
        return scene, actors, t - scene.start

    def lead(self, index):
        """The scripted car ahead at frame ``index`` (``scenarios.LeadTruth``); None in the
        plain world."""
        if not self.scenario:
            return None
        scene, actors, tau = self.scene_at(index)
        return lead_truth(self.scenario, scene, actors, tau)

    def _background(self, scene):
        image = self._backgrounds.get(scene.key)
        if image is None:
            image = render_background(scene, self.camera)
            # Shift every level down by half the noise so noise added later is centred.
            np.subtract(image, np.minimum(image, NOISE // 2), out=image)
            self._backgrounds[scene.key] = image
            while len(self._backgrounds) > 4:
                self._backgrounds.popitem(last=False)
        return image

    def frame(self, index):
        """The image (H x W x 3 BGR uint8) and ground truth of frame ``index`` (>= 0)."""
        index = int(index)
        if index < 0:
            raise ValueError(f"frame index must be >= 0, got {index}")
        cam = self.camera
        scene, actors, tau = self.scene_at(index)
        image = self._background(scene).copy()
        draw_lane_marks(image, scene, cam, tau)
        sk = Sketch(image, cam)
        placed = []
        for actor in actors:
            if actor.tau0 <= tau <= actor.tau1:
                x, z = actor.position(tau)
                placed.append((z, actor, x))
        # Painter's order: unlabelled roadside clutter first (it is always beyond
        # the kerb), then everything else far to near.
        placed.sort(key=lambda p: (p[1].labelled, -p[0]))
        drawn = []
        for z, actor, x in placed:
            sk.reset()
            drawn.extend((actor, kind, box) for kind, box in actor.draw(sk, scene, x, z, tau))
        image = self._add_noise(image, index)
        return image, self._truths(drawn)

    def _add_noise(self, image, index):
        dy = (index * 7) % NOISE_PAD
        dx = (index * 13) % NOISE_PAD
        return cv2.add(image, self._noise[dy:dy + self.height, dx:dx + self.width])

    def _truths(self, drawn):
        """Label what was drawn, nearest first, so each object knows what hides it.

        A rider does not hide its own bicycle: its legs are thin lines.
        """
        truths = []
        occluders = []   # (actor, rectangle)
        w, h = float(self.width), float(self.height)
        for actor, kind, box in reversed(drawn):
            vbox, area, visible = _visible(box, w, h, [o for a, o in occluders if a is not actor])
            fx, fy = OCCLUDER_FILL[kind]
            cx, cy = (box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0
            hw, hh = (box[2] - box[0]) * fx / 2.0, (box[3] - box[1]) * fy / 2.0
            occluders.append((actor, (cx - hw, cy - hh, cx + hw, cy + hh)))
            if vbox is None:
                continue
            if vbox[2] - vbox[0] < self._min_w and vbox[3] - vbox[1] < self._min_h:
                continue
            full = (box[2] - box[0]) * (box[3] - box[1])
            truncated = max(0.0, min(1.0, 1.0 - area / full))
            hidden = 1.0 - visible / area
            occluded = 0 if hidden < 0.05 else (1 if hidden < 0.3 else 2)
            if visible / full < MIN_VISIBLE:
                # the region is where the object lies, hidden part included: a
                # detection of the whole object or of its visible part is excused
                label, class_id = DONTCARE, -1
                vbox = (max(box[0], 0.0), max(box[1], 0.0), min(box[2], w), min(box[3], h))
            else:
                label = kind
                class_id = LABELS.index(label)
            truths.append(GroundTruth(label, class_id, vbox[0], vbox[1], vbox[2], vbox[3],
                                      round(truncated, 3), occluded, actor.track_id))
        truths.reverse()
        return truths


def parse_uri(uri):
    """Keyword arguments of ``SyntheticWorld`` from a ``synthetic://?...`` URI."""
    parts = urlsplit(uri)
    if parts.scheme != "synthetic" or parts.path not in ("", "/") or parts.netloc:
        raise SourceError("{!r} is not a synthetic source URI (expected synthetic://?seed=7&fps=30"
                          "&width=1920&height=1080&scenario=brake, every key optional)".format(uri))
    rules = {
        "seed": (int, 0, 2 ** 63 - 1, "an integer >= 0"),
        "fps": (float, 0.1, 1000.0, "a number of frames per second in 0.1..1000"),
        "width": (int, 64, 8192, "an integer number of pixels in 64..8192"),
        "height": (int, 64, 8192, "an integer number of pixels in 64..8192"),
    }
    kwargs = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key not in rules and key != "scenario":
            raise SourceError("{}: unknown key {!r} (allowed: {})".format(
                uri, key, ", ".join(SyntheticWorld.QUERY_KEYS)))
        if key in kwargs:
            raise SourceError(f"{uri}: key {key!r} given twice")
        if key == "scenario":
            if value not in SCENARIOS:
                raise SourceError("{}: bad scenario {!r} (allowed: {})".format(
                    uri, value, ", ".join(SCENARIOS)))
            kwargs[key] = value
            continue
        kind, lo, hi, allowed = rules[key]
        try:
            number = kind(value)
        except ValueError:
            number = None
        if number is None or not lo <= number <= hi or number != number:
            raise SourceError(f"{uri}: bad {key} {value!r} (allowed: {allowed})")
        kwargs[key] = number
    return kwargs
