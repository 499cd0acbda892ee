#!/usr/bin/python3
"""The Python PyTorch peer of bench_training.cpp's BM_SimclrStepResnet1d: the identical SimCLR step
(resnet1d S, batch 64, 12 leads x 2500 samples, the same ECG augmentations, projection head
512-512-128, NT-Xent tau=0.1, AdamW lr 1e-3 wd 1e-4, fp32 on CPU). Debian's python3-torch is the
same LibTorch 1.13 the C++ side links, so the ratio measures the harness's own overhead.

    /usr/bin/python3 bench/simclr_step.py [--size S|XS] [--repeats 5] [--steps 4]
prints the median samples/s over repeats (each repeat = `steps` optimiser steps).
"""
import argparse
import math
import os
import statistics
import time

import torch
from torch import nn


def conv(cin, cout, k, s, p):
    return nn.Conv1d(cin, cout, k, stride=s, padding=p, bias=False)


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1, self.bn1 = conv(cin, cout, 7, stride, 3), nn.BatchNorm1d(cout)
        self.conv2, self.bn2 = conv(cout, cout, 7, 1, 3), nn.BatchNorm1d(cout)
        self.shortcut = None
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(conv(cin, cout, 1, stride, 0), nn.BatchNorm1d(cout))

    def forward(self, x):
        y = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        return torch.relu(y + (x if self.shortcut is None else self.shortcut(x)))


class ResNet1d(nn.Module):
    def __init__(self, leads, widths, blocks):
        super().__init__()
        self.stem = nn.Sequential(conv(leads, widths[0], 15, 2, 7), nn.BatchNorm1d(widths[0]), nn.ReLU(),
                                  nn.MaxPool1d(3, 2, 1))
        layers, cin = [], widths[0]
        for i, w in enumerate(widths):
            for b in range(blocks):
                layers.append(Block(cin, w, 2 if (i > 0 and b == 0) else 1))
                cin = w
        self.stages = nn.Sequential(*layers)

    def forward(self, x):
        return self.stages(self.stem(x)).mean(dim=2)


def augment(x, amplitude=0.2, noise=0.05, wander=0.1, shift=0.1, mask=0.1):
    """Mirror of harness/src/api/augment.cpp (same transforms, same order)."""
    b, l, t = x.shape
    std = x.std(dim=(1, 2), unbiased=False, keepdim=True)
    k = int(math.floor(shift * t))
    s = torch.randint(-k, k + 1, (b, 1))
    src = (torch.arange(t).unsqueeze(0) - s).remainder(t)
    x = x.gather(2, src.unsqueeze(1).expand(b, l, t))
    x = x * (1.0 + amplitude * (2.0 * torch.rand(b, l, 1) - 1.0))
    cycles = 0.5 + 1.5 * torch.rand(b, 1, 1)
    phase = 2 * math.pi * torch.rand(b, l, 1)
    tt = (torch.arange(t, dtype=x.dtype) / t).view(1, 1, t)
    x = x + wander * std * torch.sin(2 * math.pi * cycles * tt + phase)
    x = x + torch.randn_like(x) * (noise * std)
    m = int(math.floor(mask * t))
    span = torch.randint(1, m + 1, (b, 1))
    start = (torch.rand(b, 1) * (t - span + 1)).floor().long().clamp(max=t - span)
    ar = torch.arange(t).unsqueeze(0)
    return x.masked_fill(((ar >= start) & (ar < start + span)).unsqueeze(1), 0)


def nt_xent(z1, z2, tau):
    n = z1.shape[0]
    z = nn.functional.normalize(torch.cat([z1, z2]), dim=1)
    logits = (z @ z.t() / tau).masked_fill(torch.eye(2 * n, dtype=torch.bool), float("-inf"))
    pos = logits.gather(1, ((torch.arange(2 * n) + n) % (2 * n)).unsqueeze(1)).squeeze(1)
    return (logits.logsumexp(1) - pos).mean()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="S", choices=["S", "XS"])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--steps", type=int, default=4)
    args = ap.parse_args()
    if "OMP_NUM_THREADS" not in os.environ:  # Debian's torch defaults to 1 thread; match ecgbench
        torch.set_num_threads(os.cpu_count())
    torch.manual_seed(0)
    widths, blocks = ([64, 128, 256, 512], 2) if args.size == "S" else ([16, 32, 64, 128], 1)
    enc = ResNet1d(12, widths, blocks)
    d = widths[-1]
    head = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, 128))
    params = list(enc.parameters()) + list(head.parameters())
    if args.size == "S":
        assert sum(p.numel() for p in enc.parameters()) == 8_737_408
    opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=1e-4)
    batch = 64
    data = torch.randn(batch * args.steps, 12, 2500)

    def run():
        order = torch.randperm(data.shape[0])
        for i in range(args.steps):
            x = data.index_select(0, order[i * batch:(i + 1) * batch])
            opt.zero_grad(set_to_none=True)
            z = head(enc(torch.cat([augment(x), augment(x)])))
            loss = nt_xent(z[:batch], z[batch:], 0.1)
            loss.backward()
            opt.step()

    run()  # warm-up
    rates = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        run()
        rates.append(batch * args.steps / (time.perf_counter() - t0))
    print(f"python pytorch {torch.__version__} resnet1d {args.size} simclr step: median {statistics.median(rates):.1f} "
          f"samples/s over {args.repeats} repeats (min {min(rates):.1f}, max {max(rates):.1f}), "
          f"{torch.get_num_threads()} threads")


if __name__ == "__main__":
    main()
