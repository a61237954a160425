#!/usr/bin/env python3
"""Train and export the stand-in DashCamNet-contract model (dev-only tool).

DashCamNet itself cannot be redistributed, so the project trains its own
DetectNet_v2-style network on the synthetic road world and ships it under
``engines/standin/``. Same contract as DashCamNet: input ``input_1:0``
(1x3x544x960 RGB / 255), outputs ``output_cov/Sigmoid:0`` (4x34x60) and
``output_bbox/BiasAdd:0`` (16x34x60), decoded with bbox scale 35, offset 0.5.

Network: ResNet18 topology (7x7/2 stem, max-pool, 4 stages of 2 BasicBlocks)
at quarter width (16-32-64-128; ``--stage3`` widens stage 3, the committed
network's is 128); stage 4 keeps stride 1 like DetectNet_v2 so
the output stride is 16, and is dilated (2) to widen the receptive field for
near cars, at no extra cost. ``--lateral`` adds stage 2's stride-8 features
to the heads' input and ``--iou-weight`` a GIoU term to the box loss (both in
the committed recipe).

Needs PyTorch (CPU wheel), onnx and onnxruntime; never a runtime dependency.

    PYTHONPATH=app python tools/train_standin.py train --minutes 110 --box-weight 2
    PYTHONPATH=app python tools/train_standin.py calibrate
    PYTHONPATH=app python tools/train_standin.py export
    PYTHONPATH=app python tools/train_standin.py validate --frames 50 --step 20 --seeds 1000 1001 1002 1003

(a new network's recipe; engines/standin/MODEL_CARD.md gives the committed model's exact
commands and explains them)
"""

import argparse
import math
import multiprocessing as mp
import os
import queue
import signal
import sys
import time

import cv2
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "app"))

NET_W, NET_H, STRIDE = 960, 544, 16
SCALE, OFFSET = 35.0, 0.5  # DetectNet_v2 bbox decode constants (DashCamNet's model card)
NUM_CLASSES = 4
WIDTH = 16  # stem / stage-1 channels; stages double up to 8x
CKPT = "/tmp/standin_ckpt.pt"
ONNX_PATH = os.path.join(ROOT, "engines", "standin", "dashcamnet_standin.onnx")
COV_RADIUS = 0.25  # coverage ellipse semi-axes as a fraction of box w/h (50 % diameter)
BOX_RADIUS = 0.40  # bbox regression trained over the central 80 % of the box
MIN_SIZE_1080 = 10.0  # model card: objects under 10 px at 1080p are not counted
SMALL_MAX = 3.0  # --small: the most a small object's loss is scaled up
RARE_CROPS = 0.5  # share of crops centred on a bicycle, person or road sign
HEIGHT_BANDS = ((0, 20), (20, 40), (40, 80), (80, float("inf")))  # object height at 1080p, px
TRAIN_SEEDS = (0, 1000)  # [lo, hi); 1000.. validation, 4242 acceptance: never trained on


# ---------------------------------------------------------------- network

class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride=1, dilation=1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, dilation, dilation=dilation, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, dilation, dilation=dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (x if self.down is None else self.down(x)))


class StandinNet(nn.Module):
    """DetectNet_v2 GridBox head on a narrow ResNet18; outputs (cov, bbox)."""

    def __init__(self, width=WIDTH, stage3=0, lateral=False):
        super().__init__()
        c = width
        s3 = stage3 or 4 * c  # --stage3: only stage 3 widened (its cells see the small objects' context)
        self.stem = nn.Sequential(
            nn.Conv2d(3, c, 7, 2, 3, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, 1))
        stages, cin = [], c
        for cout, stride, dil in ((c, 1, 1), (2 * c, 2, 1), (s3, 2, 1), (8 * c, 1, 2)):
            stages += [BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1, dil)]
            cin = cout
        self.body = nn.Sequential(*stages)
        self.lateral = None
        if lateral:  # --lateral: stage 2's stride-8 detail straight to the heads (output stride stays 16)
            self.lateral = nn.Sequential(nn.Conv2d(2 * c, cin, 3, 2, 1, bias=False), nn.BatchNorm2d(cin))
            nn.init.zeros_(self.lateral[1].weight)  # starts as the plain network
        self.cov = nn.Conv2d(cin, NUM_CLASSES, 1)
        self.bbox = nn.Conv2d(cin, 4 * NUM_CLASSES, 1)
        nn.init.constant_(self.cov.bias, -4.6)  # start at p = 0.01: few positives
        nn.init.normal_(self.cov.weight, std=0.01)
        nn.init.constant_(self.bbox.bias, 0.5)
        nn.init.normal_(self.bbox.weight, std=0.01)

    def forward(self, x):
        return self.heads(self.trunk(x))

    def trunk(self, x):
        x = self.stem(x)
        if self.lateral is None:
            return self.body(x)
        fine = self.body[:4](x)  # stages 1 and 2: stride 8
        return F.relu(self.body[4:](fine) + self.lateral(fine))

    def heads(self, f):
        return torch.sigmoid(self.cov(f)), self.bbox(f)


# ---------------------------------------------------------------- targets

def make_targets(boxes, classes, ignores, height, width, small=0.0):
    """DetectNet_v2 targets for one image of ``height`` x ``width`` network pixels.

    ``boxes`` Nx4 (x1, y1, x2, y2), ``classes`` N ints, ``ignores`` Mx4 regions.
    Returns cov (4,gh,gw), cov_mask (4,gh,gw), bbox (16,gh,gw), bbox_w (16,gh,gw):
    coverage 1 in the central ellipse, bbox targets over the central 80 % so that
    neighbours of the peak regress the same box (NMS then merges them), nearer
    objects (later in the list) own shared cells, and ignored regions are masked.
    An object whose larger side is under ``small`` pixels weighs ``small / side``
    (at most ``SMALL_MAX``) in both losses: it covers one cell against a near
    car's dozens, and small objects are where most misses are.
    """
    gh, gw = height // STRIDE, width // STRIDE
    cov = np.zeros((NUM_CLASSES, gh, gw), np.float32)
    cov_mask = np.ones((NUM_CLASSES, gh, gw), np.float32)
    bbox = np.zeros((4 * NUM_CLASSES, gh, gw), np.float32)
    bbox_w = np.zeros((4 * NUM_CLASSES, gh, gw), np.float32)
    # membership uses the cell's middle; regression is relative to the decode anchor
    mid_x = STRIDE * np.arange(gw, dtype=np.float32) + STRIDE / 2.0
    mid_y = STRIDE * np.arange(gh, dtype=np.float32) + STRIDE / 2.0
    anc_x = (STRIDE * np.arange(gw, dtype=np.float32) + OFFSET) / SCALE
    anc_y = (STRIDE * np.arange(gh, dtype=np.float32) + OFFSET) / SCALE
    for x1, y1, x2, y2 in ignores:
        inside = ((mid_y[:, None] >= y1) & (mid_y[:, None] <= y2) &
                  (mid_x[None, :] >= x1) & (mid_x[None, :] <= x2))
        cov_mask[:, inside] = 0.0
    order = range(len(boxes))  # painter's order: later (nearer) objects own shared cells

    def regions(i):
        x1, y1, x2, y2 = boxes[i]
        w, h = max(x2 - x1, 1.0), max(y2 - y1, 1.0)
        mx, my = (x1 + x2) / 2.0, (y1 + y2) / 2.0
        dx = (mid_x[None, :] - mx) / max(COV_RADIUS * w, 1.0)
        dy = (mid_y[:, None] - my) / max(COV_RADIUS * h, 1.0)
        core = dx ** 2 + dy ** 2 <= 1.0
        core[min(max(int(my // STRIDE), 0), gh - 1), min(max(int(mx // STRIDE), 0), gw - 1)] = True
        ring = ((np.abs(mid_x[None, :] - mx) <= BOX_RADIUS * w) &
                (np.abs(mid_y[:, None] - my) <= BOX_RADIUS * h)) | core
        return core, ring, w, h

    def paint(i, cells, positive):
        c = classes[i]
        x1, y1, x2, y2 = boxes[i]
        _, _, w, h = regs[i]
        ch = slice(4 * c, 4 * c + 4)
        planes = np.stack([
            np.broadcast_to(anc_x[None, :] - x1 / SCALE, (gh, gw)),
            np.broadcast_to(anc_y[:, None] - y1 / SCALE, (gh, gw)),
            np.broadcast_to(x2 / SCALE - anc_x[None, :], (gh, gw)),
            np.broadcast_to(y2 / SCALE - anc_y[:, None], (gh, gw))])
        # relative L1: a pixel of error on a small box costs more (IoU is relative)
        wx, wy = SCALE / max(w, 8.0), SCALE / max(h, 8.0)
        boost = min(max(small / max(w, h), 1.0), SMALL_MAX)  # 1 unless smaller than --small
        weight = (1.0 if positive else 0.5) * boost
        bbox[ch][:, cells] = planes[:, cells]
        bbox_w[ch][:, cells] = (np.array([wx, wy, wx, wy], np.float32) * weight)[:, None]
        cov[c][cells] = 1.0 if positive else 0.0
        if positive:
            cov_mask[c][cells] = weight

    regs = {i: regions(i) for i in order}
    for i in order:  # rings first, far to near ...
        paint(i, regs[i][1], False)
    for i in order:  # ... then cores, so an object's centre survives a neighbour's ring
        paint(i, regs[i][0], True)
    return cov, cov_mask, bbox, bbox_w


def detection_loss(cov_pred, bbox_pred, cov, cov_mask, bbox, bbox_w, class_weights, pos_weight=2.0):
    """BCE coverage (per positive cell) + scale-relative L1 box loss (per box cell).

    ``class_weights`` scale each class's coverage and box terms: a bicycle
    covers far fewer cells than a car, so unweighted it steers little of the trunk.
    """
    wc = torch.tensor(class_weights, dtype=cov_pred.dtype).view(1, NUM_CLASSES, 1, 1)
    npos = cov.sum().clamp(min=1.0)
    p = cov_pred.clamp(1e-6, 1 - 1e-6)
    bce = -(pos_weight * cov * torch.log(p) + (1 - cov) * torch.log(1 - p))
    l_cov = (bce * cov_mask * wc).sum() / npos
    nbox = (bbox_w > 0).float().sum().clamp(min=1.0) / 4.0
    l_box = (bbox_w * (bbox_pred - bbox).abs() * wc.repeat_interleave(4, dim=1)).sum() / nbox
    return l_cov, l_box


def giou_loss(bbox_pred, bbox, cov, cov_mask, class_weights):
    """Mean 1 - GIoU of positive cells' boxes against their objects' (``--iou-weight``).

    L1 weighs a pixel alike on every box; IoU, what the evaluator counts, is
    far stricter on an object one cell across, where most bicycle misses are
    boxes a pixel or two off (engines/standin/HISTORY.md). Both boxes are distances
    from the same anchor (planes left, top, right, bottom), so it cancels.
    Cells weigh as in the coverage loss (small objects boosted, class weights).
    """
    n, _, gh, gw = bbox.shape
    weight = cov * cov_mask * torch.tensor(class_weights, dtype=cov.dtype).view(1, NUM_CLASSES, 1, 1)
    pos = weight > 0
    if not pos.any():
        return bbox_pred.sum() * 0.0
    p = bbox_pred.view(n, NUM_CLASSES, 4, gh, gw).permute(0, 1, 3, 4, 2)[pos]  # (cells, 4)
    t = bbox.view(n, NUM_CLASSES, 4, gh, gw).permute(0, 1, 3, 4, 2)[pos]
    lo, hi = torch.min(p, t), torch.max(p, t)
    inter = (lo[:, 0] + lo[:, 2]).clamp(min=0) * (lo[:, 1] + lo[:, 3]).clamp(min=0)
    area_p = (p[:, 0] + p[:, 2]).clamp(min=0) * (p[:, 1] + p[:, 3]).clamp(min=0)
    area_t = (t[:, 0] + t[:, 2]) * (t[:, 1] + t[:, 3])
    union = area_p + area_t - inter
    hull = (hi[:, 0] + hi[:, 2]) * (hi[:, 1] + hi[:, 3])
    giou = inter / union - (hull - union) / hull
    return (weight[pos] * (1.0 - giou)).sum() / weight[pos].sum()


# ---------------------------------------------------------------- data

FRAMES_PER_WORLD = 8  # building a world costs ~0.2 s (its noise tile): amortise it


def render(job):
    """Frames of one synthetic world: [(rgb 544x960 uint8, boxes, classes, ignores)].

    Boxes stay in the world's painter's order (far to near), which
    ``make_targets`` uses to let nearer objects own shared cells.
    """
    from dashcam.synthetic import SyntheticWorld
    seed, indices, full_hd = job
    w, h = (1920, 1080) if full_hd else (NET_W, NET_H)
    world = SyntheticWorld(seed=seed, width=w, height=h, fps=30.0)
    sx, sy = NET_W / float(w), NET_H / float(h)
    out = []
    for index in indices:
        try:
            image, truths = world.frame(index)
        except Exception as error:  # a renderer bug must not end a long run: skip the frame
            print(f"render failed: seed {seed} index {index} {w}x{h}: {error!r}"[:300], flush=True)
            continue
        if full_hd:  # what the detector's preprocessing does to a 1080p camera frame
            interp = cv2.INTER_LINEAR if (index % 4) else cv2.INTER_AREA
            image = cv2.resize(image, (NET_W, NET_H), interpolation=interp)
        boxes, classes, ignores = [], [], []
        for t in truths:
            box = (t.x1 * sx, t.y1 * sy, t.x2 * sx, t.y2 * sy)
            if t.class_id < 0:
                ignores.append(box)
            else:
                boxes.append(box)
                classes.append(int(t.class_id))
        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        out.append((rgb, np.array(boxes, np.float32).reshape(-1, 4), np.array(classes, np.int64),
                    np.array(ignores, np.float32).reshape(-1, 4)))
    return out


def random_job(rng, seeds):
    indices = sorted(int(i) for i in rng.integers(0, 30000, FRAMES_PER_WORLD))
    return (int(rng.integers(*seeds)), indices, bool(rng.random() < 0.8))


def renderer_loop(out_q, seed):
    """Background process: keeps the frame pool fresh with new scenes, at low priority."""
    os.nice(10)
    cv2.setNumThreads(1)
    rng = np.random.default_rng(seed)
    while True:
        for sample in render(random_job(rng, TRAIN_SEEDS)):
            out_q.put(sample)


def augment(sample, rng, crop_h, crop_w):
    """Random scale, crop, flip and photometric jitter; boxes follow the geometry."""
    rgb, boxes, classes, ignores = sample
    s = 1.0 if rng.random() < 0.3 else float(np.exp(rng.uniform(np.log(0.6), np.log(1.5))))
    h, w = rgb.shape[:2]
    sh, sw = max(int(round(h * s)), crop_h), max(int(round(w * s)), crop_w)
    img = cv2.resize(rgb, (sw, sh), interpolation=cv2.INTER_LINEAR if s > 1 else cv2.INTER_AREA)
    fx, fy = sw / float(w), sh / float(h)
    oy, ox = int(rng.integers(0, sh - crop_h + 1)), int(rng.integers(0, sw - crop_w + 1))
    rare = np.flatnonzero(classes != 0)
    if len(rare) and rng.random() < RARE_CROPS:
        # cars fill most frames: centre the crop on a bicycle, person or sign as often
        kind = rng.choice(np.unique(classes[rare]))
        x1, y1, x2, y2 = boxes[rng.choice(rare[classes[rare] == kind])] * (fx, fy, fx, fy)
        ox = _offset_around(rng, x1, x2, crop_w, sw)
        oy = _offset_around(rng, y1, y2, crop_h, sh)
    img = img[oy:oy + crop_h, ox:ox + crop_w]
    scale = np.array([fx, fy, fx, fy], np.float32)
    shift = np.array([ox, oy, ox, oy], np.float32)
    b = boxes * scale - shift
    ig = ignores * scale - shift
    limit = np.array([crop_w, crop_h, crop_w, crop_h], np.float32)
    clipped = np.clip(b, 0, limit)
    def area(a):
        return np.maximum(a[:, 2] - a[:, 0], 0) * np.maximum(a[:, 3] - a[:, 1], 0)

    visible = area(clipped) / np.maximum(area(b), 1e-6)
    min_px = MIN_SIZE_1080 * NET_H / 1080.0
    big = ((clipped[:, 2] - clipped[:, 0]) >= min_px) | ((clipped[:, 3] - clipped[:, 1]) >= min_px)
    # the crop edge truncates like a frame edge; mostly cut-away objects become ignore regions
    keep = (visible >= 0.4) & big
    gone = visible <= 0.0
    ig = np.concatenate([np.clip(ig, 0, limit), clipped[~keep & ~gone]])
    b, c = clipped[keep], classes[keep]
    if rng.random() < 0.5:
        img = img[:, ::-1]
        b = np.stack([crop_w - b[:, 2], b[:, 1], crop_w - b[:, 0], b[:, 3]], 1)
        ig = np.stack([crop_w - ig[:, 2], ig[:, 1], crop_w - ig[:, 0], ig[:, 3]], 1)
    if rng.random() < 0.15:
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.5, 1.2))
    return np.ascontiguousarray(img), b, c, ig


def _offset_around(rng, lo, hi, crop, size):
    """A crop offset in 0..size-crop that keeps [lo, hi] inside the crop where it fits."""
    first, last = max(0.0, hi - crop), min(float(size - crop), lo)
    if first > last:
        first = last = min(max((lo + hi - crop) / 2.0, 0.0), float(size - crop))
    return int(rng.uniform(first, last + 1e-6))


def jitter(x, rng):
    """Photometric jitter of a uint8 NHWC batch in one affine pass: contrast, gain, bias, noise."""
    n = x.shape[0]
    x = x.float()
    contrast = rng.uniform(0.7, 1.3, (n, 1, 1, 1))
    gain = rng.uniform(0.6, 1.4, (n, 1, 1, 1)) * rng.uniform(0.85, 1.15, (n, 1, 1, 3))
    bias = rng.uniform(-30, 30, (n, 1, 1, 1)) + rng.uniform(-10, 10, (n, 1, 1, 3))
    mean = x.mean(dim=(1, 2, 3), keepdim=True).numpy()
    scale = torch.from_numpy((contrast * gain / 255.0).astype(np.float32))
    shift = torch.from_numpy(((mean * (1 - contrast) * gain + bias) / 255.0).astype(np.float32))
    x.mul_(scale).add_(shift)
    for i in np.flatnonzero(rng.random(n) < 0.3):
        if jitter.noise is None or jitter.noise.shape[0] < x.shape[1] * 2:
            jitter.noise = torch.randn(x.shape[1] * 2, x.shape[2] * 2, 3)
        oy, ox = int(rng.integers(x.shape[1])), int(rng.integers(x.shape[2]))
        x[i].add_(jitter.noise[oy:oy + x.shape[1], ox:ox + x.shape[2]], alpha=rng.uniform(2, 8) / 255.0)
    # NHWC memory is exactly channels_last NCHW: no copy for the network
    return x.clamp_(0, 1).permute(0, 3, 1, 2)


jitter.noise = None


def make_batch(pool, rng, batch, crop_h, crop_w, small=0.0):
    xs, targets = [], [[], [], [], []]
    for _ in range(batch):
        x, b, c, ig = augment(pool[int(rng.integers(len(pool)))], rng, crop_h, crop_w)
        xs.append(x)
        for acc, t in zip(targets, make_targets(b, c, ig, crop_h, crop_w, small)):
            acc.append(t)
    return jitter(torch.from_numpy(np.stack(xs)), rng), [torch.from_numpy(np.stack(t)) for t in targets]


# ---------------------------------------------------------------- train

def train(args):
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    t0 = time.monotonic()
    jobs = [random_job(rng, TRAIN_SEEDS) for _ in range(args.pool // FRAMES_PER_WORLD)]
    with mp.get_context("fork").Pool(args.render_procs) as workers:
        pool = [sample for chunk in workers.imap_unordered(render, jobs, chunksize=4) for sample in chunk]
    print(f"pool of {len(pool)} frames rendered in {time.monotonic() - t0:.0f} s", flush=True)
    fresh = mp.get_context("fork").Queue(maxsize=64)
    feeder = mp.get_context("fork").Process(target=renderer_loop, args=(fresh, args.seed + 1), daemon=True)
    feeder.start()
    # SIGTERM ends the run through the finally below, so the feeder never outlives it
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        run_steps(args, model_and_state(args), pool, fresh, rng, t0)
    finally:
        feeder.terminate()


def model_and_state(args):
    """A fresh model and optimiser, or those of the checkpoint with --resume (its own widths)."""
    state = torch.load(CKPT) if args.resume and os.path.exists(CKPT) else None
    model = StandinNet(stage3=args.stage3, lateral=args.lateral) if state is None else network_of(state)
    model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    step, done_s = 0, 0.0
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        step, done_s = state["step"], state["elapsed_s"]
        print(f"resumed at step {step}, {done_s / 60:.1f} min", flush=True)
    return model, opt, step, done_s


def forward(model, x, precision):
    """Training forward pass: a bfloat16 trunk when asked (the network's step is
    about 1.6x faster on AVX512-BF16 CPUs, bench/bench_train_step.py), fp32 heads
    so the coverage and box outputs the loss sees keep full precision."""
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
        f = model.trunk(x)
    return model.heads(f.float())


def run_steps(args, state, pool, fresh, rng, t0):
    """The training loop proper: a time-budgeted schedule, checkpoints, thread probing."""
    model, opt, step, done_s = state
    budget = args.minutes * 60.0
    start = time.monotonic() - done_s
    last_ckpt = time.monotonic()
    ema = None
    model.train()
    # Shared 2-core machine: when another process holds a core, two intra-op
    # threads spin on each other and one thread is faster. Re-measure both now
    # and then and keep the faster.
    probe = {}
    while True:
        elapsed = time.monotonic() - start
        frac = elapsed / budget
        if frac >= 1.0:
            break
        # time-based warm-up + cosine, so a --minutes budget always ends at a low LR
        lr = args.lr * min(1.0, frac / 0.03) * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * frac)))
        for g in opt.param_groups:
            g["lr"] = lr
        for _ in range(args.fresh):
            try:
                pool[int(rng.integers(len(pool)))] = fresh.get_nowait()
            except queue.Empty:
                break
        x, (cov, cov_mask, bbox, bbox_w) = make_batch(pool, rng, args.batch, args.crop_h, args.crop_w, args.small)
        cov_pred, bbox_pred = forward(model, x, args.precision)
        l_cov, l_box = detection_loss(cov_pred, bbox_pred, cov, cov_mask, bbox, bbox_w,
                                      class_weights=args.class_weights)
        l_iou = (giou_loss(bbox_pred, bbox, cov, cov_mask, args.class_weights) if args.iou_weight
                 else torch.zeros(()))
        loss = l_cov + args.box_weight * l_box + args.iou_weight * l_iou
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        phase = step % 300
        if phase in (1, 11, 21):
            if phase == 21:
                probe[torch.get_num_threads()] = time.monotonic() - probe.pop("t")
                best = min(probe, key=probe.get)
                if best != torch.get_num_threads() or step % 1500 == 21:
                    print(f"threads: {best} ({ {k: round(v / 10, 3) for k, v in probe.items()} } s/step)", flush=True)
                torch.set_num_threads(best)
                probe = {}
            else:
                if phase == 11:
                    probe[torch.get_num_threads()] = time.monotonic() - probe.pop("t")
                    torch.set_num_threads(1 if torch.get_num_threads() > 1 else args.threads)
                probe["t"] = time.monotonic()
        vals = np.array([loss.item(), l_cov.item(), l_box.item(), l_iou.item()])
        ema = vals if ema is None else 0.98 * ema + 0.02 * vals
        if step % 50 == 0:
            print(f"step {step} {elapsed / 60:.1f} min lr {lr:.2e} loss {ema[0]:.4f} "
                  f"cov {ema[1]:.4f} box {ema[2]:.4f} iou {ema[3]:.4f}", flush=True)
        if time.monotonic() - last_ckpt > args.ckpt_every * 60:
            save(model, opt, step, time.monotonic() - start, ema)
            last_ckpt = time.monotonic()
    save(model, opt, step, time.monotonic() - start, ema)
    print(f"done: {step} steps in {(time.monotonic() - t0) / 60:.1f} min, loss {ema[0]:.4f}", flush=True)


def save(model, opt, step, elapsed, ema):
    tmp = CKPT + ".tmp"
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step,
                "elapsed_s": elapsed, "loss": None if ema is None else ema.tolist()}, tmp)
    os.replace(tmp, CKPT)  # atomic: an export racing a checkpoint never reads half a file


# ---------------------------------------------------------------- export

def network_of(state):
    """An untrained network shaped like a checkpoint's: stage 3's channels (``--stage3``,
    read from its first convolution) and whether it has the ``--lateral`` branch."""
    weights = state["model"]
    return StandinNet(stage3=weights["body.4.conv1.weight"].shape[0], lateral="lateral.0.weight" in weights)


def load_model(path=CKPT, calibrated=True):
    """The checkpoint's network, with its calibration (``calibrate``) folded into the coverage bias."""
    state = torch.load(path)
    model = network_of(state)
    model.load_state_dict(state["model"])
    offsets = state.get("cov_offsets")
    if offsets and calibrated:
        with torch.no_grad():
            model.cov.bias.add_(torch.tensor(offsets, dtype=model.cov.bias.dtype))
        print(f"coverage logit offsets {[round(o, 3) for o in offsets]} (calibrate)", flush=True)
    return model.eval()


def export(args):
    export_model(load_model(args.ckpt), args.out)


def export_model(model, out):
    """Write ``model`` as DashCamNet-contract ONNX to ``out`` and check it against torch."""
    import onnx
    import onnxruntime as ort
    x = torch.rand(1, 3, NET_H, NET_W)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    torch.onnx.export(model, (x,), out, dynamo=False, opset_version=13,
                      input_names=["input_1:0"],
                      output_names=["output_cov/Sigmoid:0", "output_bbox/BiasAdd:0"],
                      do_constant_folding=True)  # eval mode: BatchNorm folds into the convs
    proto = onnx.load(out)
    proto.ir_version = 7  # onnxruntime 1.10 (Jetson Nano, Python 3.6) reads IR <= 8
    proto.producer_name = "dashcam tools/train_standin.py"
    onnx.checker.check_model(proto)
    onnx.save(proto, out)
    session = ort.InferenceSession(out, providers=["CPUExecutionProvider"])
    cov, bbox = session.run(None, {"input_1:0": x.numpy()})
    with torch.no_grad():
        tc, tb = model(x)
    assert cov.shape == (1, 4, 34, 60) and bbox.shape == (1, 16, 34, 60), (cov.shape, bbox.shape)
    np.testing.assert_allclose(cov, tc.numpy(), atol=1e-4)
    np.testing.assert_allclose(bbox, tb.numpy(), atol=1e-4)
    print(f"exported {out}: {os.path.getsize(out) / 1e6:.2f} MB, ops "
          f"{sorted(set(n.op_type for n in proto.graph.node))}, onnxruntime matches torch")


def validate(args):
    """Model-card KPIs of a checkpoint (or ONNX) through the product's own detector."""
    import tempfile
    from dashcam.config import load_config
    from dashcam.inference import build_detector
    from dashcam.evaluation.evaluate import evaluate, format_table, truths_from_synthetic
    from dashcam.synthetic import SyntheticWorld
    onnx_path = args.onnx
    if not onnx_path:
        onnx_path = os.path.join(tempfile.mkdtemp(), "check.onnx")
        export_model(load_model(args.ckpt), onnx_path)
    detector = build_detector(load_config(), model_path=onnx_path)
    worlds = {}

    def samples():
        for seed in args.seeds:
            world = worlds.setdefault(seed, SyntheticWorld(seed=seed, width=args.width, height=args.height, fps=30.0))
            for index in range(args.start, args.start + args.frames * args.step, args.step):
                image, truths = world.frame(index)
                yield image, truths_from_synthetic(truths)

    t0 = time.monotonic()
    if args.by_height:
        recall_by_height(samples(), detector)
    elif args.best_iou:
        best_iou_by_height(samples(), detector)
    else:
        print(format_table(evaluate(samples(), detector.detect)))
    print(f"{args.frames * len(args.seeds)} frames of seeds {args.seeds} at {args.width}x{args.height} "
          f"in {time.monotonic() - t0:.0f} s", flush=True)


def height_band(truth, k):
    """The ``HEIGHT_BANDS`` entry holding ``truth``'s height at 1080p (``k``: 1080 / frame height)."""
    return next(b for b in HEIGHT_BANDS if b[0] <= (truth.y2 - truth.y1) * k < b[1])


def recall_by_height(samples, detector):
    """Recall per class and object height band (1080p pixels): where the misses are.

    For each band the objects outside it become DontCare, so they are neither
    missed nor found and a detection of one is not a false positive.
    """
    from dashcam.evaluation.evaluate import DONTCARE, Counts, evaluate_frame
    frames = [(truths, detector.detect(image), image.shape[0]) for image, truths in samples]
    for lo, hi in HEIGHT_BANDS:
        totals = {name: Counts() for name in detector.labels}
        for truths, detections, height in frames:
            k = 1080.0 / height
            band = [t if t.label == DONTCARE or height_band(t, k) == (lo, hi) else t._replace(label=DONTCARE)
                    for t in truths]
            for name, counts in evaluate_frame(detections, band, height).items():
                totals[name].add(*counts)
        print(f"height {lo}..{hi} px: " + ", ".join(
            f"{name} {c.recall:.2f} of {c.tp + c.fn}" for name, c in totals.items() if c.tp + c.fn),
            flush=True)


def best_iou_by_height(samples, detector):
    """Each counted object's best IoU with a box of its own class, per height band.

    Tells a miss the network did not see (no box) from one it boxed too
    loosely (IoU at most 0.5) or mistook for another class (a box of another
    class above 0.5): different levers. Without the one-to-one match, so a
    share above 0.5 can exceed the recall slightly.
    """
    from dashcam.evaluation.evaluate import LABELS, MIN_SIZE_1080, canonical_label, is_counted
    from dashcam.geometry import pairwise_iou as iou
    kinds = ("> 0.5", "0.25..0.5", "0..0.25", "other class", "no box")
    tally = {}
    for image, truths in samples:
        k = 1080.0 / image.shape[0]
        detections = [(canonical_label(d.label) or d.label, d.box) for d in detector.detect(image)]
        for t in truths:
            if t.label not in LABELS or not is_counted(t[1:], MIN_SIZE_1080 / k):
                continue
            same = [box for label, box in detections if label == t.label]
            other = [box for label, box in detections if label != t.label]
            best = iou(same, [t[1:]]).max() if same else 0.0
            if best > 0.5:
                kind = kinds[0]
            elif best > 0.25:
                kind = kinds[1]
            elif other and iou(other, [t[1:]]).max() > 0.5:
                kind = kinds[3]
            else:
                kind = kinds[2] if best > 0 else kinds[4]
            row = tally.setdefault((t.label, height_band(t, k)), dict.fromkeys(kinds, 0))
            row[kind] += 1
    for (label, (lo, hi)), row in sorted(tally.items(), key=lambda kv: (LABELS.index(kv[0][0]), kv[0][1])):
        print(f"{label} {lo}..{hi} px: " + ", ".join(f"{kind} {n}" for kind, n in row.items()),
              flush=True)


def fold_offsets(path, offsets):
    """Add per-class logit offsets to an exported network's coverage bias, in place.

    The bias is the one of the convolution feeding ``output_cov/Sigmoid:0``;
    shifting it moves which boxes pass the fixed thresholds exactly as
    ``export`` does with a checkpoint's offsets, for a network whose
    checkpoint is gone.
    """
    import onnx
    from onnx import numpy_helper
    proto = onnx.load(path)
    producers = {out: node for node in proto.graph.node for out in node.output}
    conv = producers[producers["output_cov/Sigmoid:0"].input[0]]
    init = next(i for i in proto.graph.initializer if i.name == conv.input[2])
    bias = numpy_helper.to_array(init) + np.asarray(offsets, dtype=np.float32)
    init.CopyFrom(numpy_helper.from_array(bias.astype(np.float32), init.name))
    onnx.checker.check_model(proto)
    onnx.save(proto, path + ".tmp")
    os.replace(path + ".tmp", path)


def calibrate(args):
    """Per-class coverage logit offsets that put the default thresholds where precision meets recall.

    DashCamNet's post-processing is fixed (pre-cluster threshold 0.2, car 0.4)
    and a network's coverage is not a calibrated probability. The model card's
    targets are on both precision and recall, so per class the threshold that
    maximises the smaller of the two on validation frames (never the
    acceptance seed; F1 breaks ties) is folded into the coverage bias:
    ``offset = logit(default threshold) - logit(best threshold)``. Only which
    boxes pass the threshold changes; their order, NMS and boxes do not.
    """
    import tempfile
    from dashcam.config import load_config
    from dashcam.inference import build_detector
    from dashcam.evaluation.evaluate import evaluate_frame, truths_from_synthetic
    from dashcam.synthetic import SyntheticWorld
    onnx_path = args.onnx
    if not onnx_path:
        onnx_path = os.path.join(tempfile.mkdtemp(), "raw.onnx")
        export_model(load_model(args.ckpt, calibrated=False), onnx_path)  # calibrate the raw network
    detector = build_detector(load_config(), model_path=onnx_path)
    defaults = detector.thresholds.copy()
    frames = []
    for seed in args.seeds:
        world = SyntheticWorld(seed=seed, fps=30.0)
        for index in range(0, args.frames * args.step, args.step):
            image, truths = world.frame(index)
            cov, bbox = detector.backend.infer(detector.preprocessor(image))
            frames.append((cov.copy(), bbox.copy(), detector.preprocessor.scale_x,
                           detector.preprocessor.scale_y, truths_from_synthetic(truths), image.shape[0]))
    grid = np.round(np.arange(0.05, 0.951, 0.025), 3)
    offsets = []
    def logit(p):
        return math.log(p / (1.0 - p))

    for c, name in enumerate(detector.labels):
        scores = []
        for t in grid:
            detector.thresholds[:] = defaults
            detector.thresholds[c] = t
            tp = fp = fn = 0
            for cov, bbox, sx, sy, truths, height in frames:
                dets = [d for d in detector.postprocess(cov, bbox, sx, sy) if d.class_id == c]
                a, b, m = evaluate_frame(dets, truths, height, classes=(name,))[name]
                tp, fp, fn = tp + a, fp + b, fn + m
            p, r = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
            scores.append((min(p, r), 2.0 * tp / max(2 * tp + fp + fn, 1), t, p, r))
        _, f1, t, p, r = max(scores)
        offsets.append(logit(float(defaults[c])) - logit(float(t)))
        print(f"{name}: best threshold {t:.3f} (default {defaults[c]:.2f}): precision {p:.3f} "
              f"recall {r:.3f} F1 {f1:.3f} -> logit offset {offsets[-1]:+.3f}", flush=True)
    if args.onnx:  # an exported network has no checkpoint: fold the offsets into it, or only report them
        if args.apply:
            fold_offsets(args.onnx, offsets)
        done = "offsets folded into it" if args.apply else "scanned, nothing saved"
        print(f"{len(frames)} frames of seeds {args.seeds}; {args.onnx} {done}")
        return
    state = torch.load(args.ckpt)
    state["cov_offsets"] = offsets
    torch.save(state, args.ckpt + ".tmp")
    os.replace(args.ckpt + ".tmp", args.ckpt)
    print(f"{len(frames)} frames of seeds {args.seeds}; offsets saved in {args.ckpt} (export applies them)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="train (resumable) to " + CKPT)
    t.add_argument("--minutes", type=float, default=110.0, help="wall-clock budget; the LR schedule spans it")
    t.add_argument("--batch", type=int, default=8)
    t.add_argument("--crop-h", type=int, default=288)
    t.add_argument("--crop-w", type=int, default=512)
    t.add_argument("--lr", type=float, default=3e-3)
    t.add_argument("--box-weight", type=float, default=2.0)
    t.add_argument("--class-weights", type=float, nargs=NUM_CLASSES, default=[1.0] * NUM_CLASSES,
                   metavar="W", help="loss weight per class: car bicycle person road_sign")
    t.add_argument("--small", type=float, default=0.0,
                   help="objects whose larger side is under this many network pixels weigh more (0: off)")
    t.add_argument("--stage3", type=int, default=0,
                   help=f"stage 3's channels (default 0: four times the stem's, {4 * WIDTH})")
    t.add_argument("--iou-weight", type=float, default=0.0,
                   help="weight of a 1 - GIoU term on positive cells' boxes, beside the L1 one (0: off)")
    t.add_argument("--lateral", action="store_true",
                   help="feed stage 2's stride-8 features to the heads through a strided convolution")
    t.add_argument("--pool", type=int, default=2000, help="frames held in memory, refreshed while training")
    t.add_argument("--render-procs", type=int, default=2)
    t.add_argument("--fresh", type=int, default=4, help="at most this many new frames into the pool per step")
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--precision", choices=("bf16", "fp32"), default="bf16",
                   help="trunk arithmetic while training (weights and export stay fp32); "
                        "fp32 on CPUs without AVX512-BF16, where bf16 is emulated and slow")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--ckpt-every", type=float, default=3.0, help="minutes between checkpoints")
    t.add_argument("--resume", action="store_true")
    t.set_defaults(func=train)
    e = sub.add_parser("export", help="export the checkpoint to ONNX and check it against torch")
    e.add_argument("--ckpt", default=CKPT)
    e.add_argument("--out", default=ONNX_PATH)
    e.set_defaults(func=export)
    c = sub.add_parser("calibrate", help="per-class coverage offsets for the default thresholds, on validation seeds")
    c.add_argument("--ckpt", default=CKPT)
    c.add_argument("--onnx", default="", help="scan this exported network's thresholds instead "
                   "(offsets relative to any calibration it already holds); nothing is saved without --apply")
    c.add_argument("--apply", action="store_true", help="with --onnx: fold the offsets into that file's coverage bias")
    c.add_argument("--seeds", type=int, nargs="+", default=list(range(1000, 1030)))
    c.add_argument("--frames", type=int, default=30, help="frames per seed")
    c.add_argument("--step", type=int, default=300,
                   help="frame index step (300: 30 frames over five minutes, like the acceptance set; "
                        "30, the first 30 s, was the committed model's first pass)")
    c.set_defaults(func=calibrate)
    v = sub.add_parser("validate", help="KPIs on held-out synthetic frames through dashcam's detector")
    v.add_argument("--ckpt", default=CKPT)
    v.add_argument("--onnx", default="", help="evaluate this ONNX instead of exporting the checkpoint")
    v.add_argument("--seeds", type=int, nargs="+", default=[1000])
    v.add_argument("--frames", type=int, default=100)
    v.add_argument("--start", type=int, default=0)
    v.add_argument("--step", type=int, default=1)
    v.add_argument("--width", type=int, default=1920)
    v.add_argument("--height", type=int, default=1080)
    breakdown = v.add_mutually_exclusive_group()
    breakdown.add_argument("--by-height", action="store_true",
                           help="recall per class and object height band instead")
    breakdown.add_argument("--best-iou", action="store_true",
                           help="per class and height band, how each object's best box of its class "
                                "overlaps it instead")
    v.set_defaults(func=validate)
    args = parser.parse_args(argv)
    if getattr(args, "apply", False) and not args.onnx:
        parser.error("calibrate --apply needs --onnx FILE (a checkpoint keeps its offsets for export)")
    args.func(args)


if __name__ == "__main__":
    main()
