"""Training step of the stand-in network: float32 against a bfloat16 trunk.

One forward + backward + AdamW step at the training tool's batch and crop
(8 x 288x512, channels-last), median of ``--steps`` after a warm-up; the
figure behind ``tools/train_standin.py --precision`` and the model card.
Needs PyTorch (dev only).

    python bench/bench_train_step.py [--steps 20] [--threads 2]
"""

import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools"))
from train_standin import StandinNet, forward  # noqa: E402


def step_ms(precision, steps, batch=8, height=288, width=512):
    model = StandinNet().to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.rand(batch, 3, height, width).to(memory_format=torch.channels_last)
    times = []
    for _ in range(steps + 5):
        t = time.perf_counter()
        cov, bbox = forward(model, x, precision)
        loss = cov.mean() + bbox.abs().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t)
    times = sorted(times[5:])
    return 1000.0 * times[len(times) // 2]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    for precision in ("fp32", "bf16"):
        print(f"{precision}: {step_ms(precision, args.steps):.1f} ms per step", flush=True)


if __name__ == "__main__":
    main()
