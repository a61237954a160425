"""Synthetic road world rendering speed (issue 3: >= 60 frames/s at 1920x1080, one core).

Run: python -m pytest bench/bench_synthetic.py --benchmark-enable -o python_files='bench_*.py'

``sequential``: frames in order, as the ``synthetic://`` camera reads them (the
scene backdrop is cached). ``random``: frames picked across a long world, as the
stand-in model's trainer samples them (most calls set up a new minute of world).
"""

import itertools
import random

import pytest

from dashcam.synthetic import SyntheticWorld


def _sequential(width, height):
    world = SyntheticWorld(seed=7, width=width, height=height)
    counter = itertools.count(1000)
    world.frame(999)
    return lambda: world.frame(next(counter))


@pytest.mark.parametrize("width, height", [(1920, 1080), (960, 544)], ids=["1080p", "544p"])
def test_render_sequential(benchmark, width, height):
    image, truths = benchmark(_sequential(width, height))
    assert image.shape == (height, width, 3)


def test_render_random_access_544p(benchmark):
    world = SyntheticWorld(seed=7, width=960, height=544)
    rng = random.Random(0)
    image, truths = benchmark(lambda: world.frame(rng.randrange(30 * 3600 * 10)))
    assert image.shape == (544, 960, 3)
