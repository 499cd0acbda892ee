#!/usr/bin/python3
"""The Python PyTorch peers of the C++ training-step benchmarks: the identical step of
  simclr  (BM_SimclrStepResnet1d; BM_MethodStep/simclr_*): projection head D-D-128, NT-Xent tau=0.1;
  byol    (BM_MethodStep/byol_*): projector and predictor Linear-BN-ReLU-Linear (D-1024-256, 256-1024-256),
          an EMA target (encoder + projector) with tau rising from 0.99 to 1 on a cosine, symmetric 2 - 2cos;
  clef    (BM_MethodStep/clef_*): simclr's head and views, NT-Xent whose negatives weigh
          0.1 + 0.9 min(1, |risk_a - risk_b| / sd(risk)) (plugin defaults: linear weighting, min_weight 0.1);
on resnet1d S (or XS), batch 64, 12 leads x 2500 samples, the same ECG augmentations, AdamW lr 1e-3
wd 1e-4, fp32 on CPU; and
  st_mem  (BM_MethodStep/st_mem_vit1d_S): vit1d S (or XS) with patches of 75 samples (12 x 33 tokens,
          per-lead [SEP] tokens), 24 of 33 patches hidden per lead, the encoder on visible tokens only,
          a lead-wise decoder of 4 blocks of width 256, MSE on hidden patches against per-patch
          normalised targets (plugin defaults), same batch, optimiser and precision. Debian's python3-torch is the same LibTorch 1.13 the C++ side links, so the
ratio measures the harness's own overhead.

    /usr/bin/python3 bench/method_step.py [--method simclr|byol|clef|st_mem] [--size S|XS] [--repeats 5] [--steps 4]
prints the median samples/s over repeats (each repeat = `steps` optimiser steps) and the peak
resident memory the step adds (VmHWM reset through /proc/self/clear_refs, as bench_methods.cpp).

The C++ host keeps freed memory for reuse (harness/src/runner/allocator.hpp: no mmapped blocks, no
heap trimming). A peer at glibc's defaults measures a plain script; the same policy is given to
Python through the environment, and `make bench` runs each peer both ways:
    GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=2147483647 /usr/bin/python3 bench/method_step.py ...
"""
import argparse
import copy
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


def weighted_nt_xent(z1, z2, tau, w):
    """NT-Xent with the [N, N] negative weights w added (as log w) to the denominator's logits."""
    n = z1.shape[0]
    z = nn.functional.normalize(torch.cat([z1, z2]), dim=1)
    logits = (z @ z.t() / tau).masked_fill(torch.eye(2 * n, dtype=torch.bool), float("-inf"))
    pos = logits.gather(1, ((torch.arange(2 * n) + n) % (2 * n)).unsqueeze(1)).squeeze(1)
    log_w = w.clone().fill_diagonal_(1).repeat(2, 2).log()
    return ((logits + log_w).logsumexp(1) - pos).mean()


def mlp(cin, hidden, cout):
    return nn.Sequential(nn.Linear(cin, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Linear(hidden, cout))


class TransformerBlock(nn.Module):
    """Pre-norm transformer block with attention written out as vit1d's (transformer.cpp)."""

    def __init__(self, width, heads, mlp):
        super().__init__()
        self.heads = heads
        self.norm1, self.qkv, self.proj = nn.LayerNorm(width), nn.Linear(width, 3 * width), nn.Linear(width, width)
        self.norm2, self.fc1, self.fc2 = nn.LayerNorm(width), nn.Linear(width, mlp), nn.Linear(mlp, width)

    def forward(self, x):
        b, n, w = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(b, n, 3, self.heads, w // self.heads).permute(2, 0, 3, 1, 4)
        a = (q @ k.transpose(-2, -1) / math.sqrt(w // self.heads)).softmax(-1) @ v
        y = x + self.proj(a.transpose(1, 2).reshape(b, n, w))
        return y + self.fc2(nn.functional.gelu(self.fc1(self.norm2(y))))


def sincos(positions, width):
    omega = 10000.0 ** (-torch.arange(width // 2, dtype=torch.float64) / (width / 2))
    angle = torch.arange(positions, dtype=torch.float64).unsqueeze(1) * omega.unsqueeze(0)
    return torch.cat([angle.sin(), angle.cos()], 1).float()


class StMem(nn.Module):
    """vit1d + st_mem's step (plugins/encoders/vit1d, plugins/ssl/st_mem) for records with every lead present."""

    def __init__(self, leads, samples, patch, width, depth, heads, mlp, dec_width=256, dec_depth=4, dec_heads=4, ratio=0.75):
        super().__init__()
        self.leads, self.patch, self.p, self.width, self.ratio = leads, patch, samples // patch, width, ratio
        self.embed = nn.Sequential(nn.LayerNorm(patch), nn.Linear(patch, width), nn.LayerNorm(width))
        pos = torch.zeros(self.p + 2, width)
        pos[1:-1] = sincos(self.p, width)
        self.pos = nn.Parameter(pos)
        self.sep = nn.Parameter(torch.randn(width) * 0.02)
        self.lead = nn.Parameter(torch.randn(leads, width) * 0.02)
        self.blocks = nn.Sequential(*[TransformerBlock(width, heads, mlp) for _ in range(depth)])
        self.norm = nn.LayerNorm(width)
        self.dec_embed = nn.Linear(width, dec_width)
        self.mask_token = nn.Parameter(torch.randn(dec_width) * 0.02)
        self.dec_pos = nn.Parameter(sincos(self.p, dec_width))
        self.dec_lead = nn.Parameter(torch.randn(leads, dec_width) * 0.02)
        self.dec_blocks = nn.Sequential(*[TransformerBlock(dec_width, dec_heads, 4 * dec_width) for _ in range(dec_depth)])
        self.dec_norm, self.head = nn.LayerNorm(dec_width), nn.Linear(dec_width, patch)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def encoder_parameters(self):
        return sum(p.numel() for n, p in self.named_parameters() if not n.startswith(("dec_", "mask_token", "head")))

    def forward(self, x):
        b, l, p, w = x.shape[0], self.leads, self.p, self.width
        patches = x[:, :, :p * self.patch].reshape(b, l, p, self.patch)
        hidden = torch.rand(b, l, p).argsort(2).argsort(2) < int(p * self.ratio)  # per lead, as st_mem
        lead = self.lead.view(1, l, 1, w)
        tokens = self.embed(patches) + self.pos[1:-1].view(1, 1, p, w) + lead
        left = (self.sep + self.pos[0]).view(1, 1, 1, w) + lead
        right = (self.sep + self.pos[-1]).view(1, 1, 1, w) + lead
        seq = torch.cat([left.expand(b, l, 1, w), tokens, right.expand(b, l, 1, w)], 2).reshape(b, l * (p + 2), w)
        framed = torch.ones(b, l, 1, dtype=torch.bool)
        keep = torch.cat([framed, ~hidden, framed], 2).reshape(b, -1)
        kept = int(keep.sum(1).max())
        order = keep.int().sort(stable=True, dim=1, descending=True)[1][:, :kept]
        index = order.unsqueeze(-1).expand(b, kept, w)
        h = self.norm(self.blocks(seq.gather(1, index)))
        out = torch.zeros(b, l * (p + 2), w).scatter(1, index, h).view(b, l, p + 2, w)[:, :, 1:-1].reshape(b, l * p, w)
        hidden = hidden.reshape(b, l * p)
        d = torch.where(hidden.unsqueeze(-1), self.mask_token.view(1, 1, -1), self.dec_embed(out))
        d = (d.view(b, l, p, -1) + self.dec_pos.view(1, 1, p, -1) + self.dec_lead.view(1, l, 1, -1)).reshape(b * l, p, -1)
        pred = self.head(self.dec_norm(self.dec_blocks(d))).view(b, l * p, self.patch)
        target = patches.reshape(b, l * p, self.patch)
        target = (target - target.mean(-1, keepdim=True)) / (target.var(-1, keepdim=True) + 1e-6).sqrt()
        weight = hidden.float().unsqueeze(-1)
        return ((pred - target).pow(2) * weight).sum() / (weight.sum() * self.patch)


def status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return float(line.split()[1])
    return 0.0


def make_step(method, enc, d, batch, total_steps, risk):
    """Returns (modules to optimise, step(x, rows, step_index) -> loss)."""
    if method == "st_mem":
        def loss(x, rows, _):
            return enc(x)
        return [enc], loss, None
    if method == "simclr":
        head = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, 128))

        def loss(x, rows, _):
            z = head(enc(torch.cat([augment(x), augment(x)])))
            return nt_xent(z[:batch], z[batch:], 0.1)
        return [enc, head], loss, None
    if method == "clef":
        head = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, 128))
        scale = risk.std().item()

        def loss(x, rows, _):
            r = risk[rows]
            w = 0.1 + 0.9 * ((r.unsqueeze(1) - r.unsqueeze(0)).abs() / scale).clamp(max=1)
            z = head(enc(torch.cat([augment(x), augment(x)])))
            return weighted_nt_xent(z[:batch], z[batch:], 0.1, w.fill_diagonal_(1))
        return [enc, head], loss, None
    projector, predictor = mlp(d, 1024, 256), mlp(256, 1024, 256)
    target_enc, target_proj = copy.deepcopy(enc), copy.deepcopy(projector)
    for p in list(target_enc.parameters()) + list(target_proj.parameters()):
        p.requires_grad_(False)

    def regression(p, z):
        return (2 - 2 * nn.functional.cosine_similarity(p, z, dim=1)).mean()

    def loss(x, rows, _):
        views = torch.cat([augment(x), augment(x)])
        online = predictor(projector(enc(views)))
        with torch.no_grad():
            target = target_proj(target_enc(views))
        return regression(online[:batch], target[batch:]) + regression(online[batch:], target[:batch])

    def after_step(step):
        tau = 1 - (1 - 0.99) * (math.cos(math.pi * min(1.0, step / total_steps)) + 1) / 2
        with torch.no_grad():
            for online, target in ((enc, target_enc), (projector, target_proj)):
                for po, pt in zip(online.parameters(), target.parameters()):
                    pt.mul_(tau).add_(po.detach(), alpha=1 - tau)
    return [enc, projector, predictor], loss, after_step


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--method", default="simclr", choices=["simclr", "byol", "clef", "st_mem"])
    ap.add_argument("--size", default="S", choices=["S", "XS"])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--device", default="cpu",
                    help="cpu, or cuda (needs torch >= 2.0: every tensor is then made on the device through "
                         "torch.set_default_device, the data included)")
    ap.add_argument("--bf16", action="store_true", help="bf16 autocast, as ecgbench's precision = \"bf16\"")
    args = ap.parse_args()
    cuda = args.device.startswith("cuda")
    if cuda:
        torch.set_default_device(args.device)
    if "OMP_NUM_THREADS" not in os.environ:  # Debian's torch defaults to 1 thread; match ecgbench
        torch.set_num_threads(os.cpu_count())
    torch.manual_seed(0)
    batch = 64
    data = torch.randn(batch * args.steps, 12, 2500)
    risk = torch.rand(batch * args.steps) * 30
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    rss_before = status_kib("VmRSS")
    widths, blocks = ([64, 128, 256, 512], 2) if args.size == "S" else ([16, 32, 64, 128], 1)
    if args.method == "st_mem":
        enc = StMem(12, 2500, 75, *((384, 12, 6, 1536) if args.size == "S" else (64, 4, 4, 256)))
        if args.size == "S":  # vit1d S for 12 x 2500, patch 75 (33 patches): bench_methods.cpp's encoder
            assert enc.encoder_parameters() == 21_342_870, enc.encoder_parameters()
    else:
        enc = ResNet1d(12, widths, blocks)
    if args.size == "S" and args.method != "st_mem":
        assert sum(p.numel() for p in enc.parameters()) == 8_737_408
    modules, loss_of, after_step = make_step(args.method, enc, widths[-1], batch, args.steps * (args.repeats + 1), risk)
    opt = torch.optim.AdamW([p for m in modules for p in m.parameters()], lr=1e-3, weight_decay=1e-4)
    step = 0

    def run():
        nonlocal step
        order = torch.randperm(data.shape[0])
        for i in range(args.steps):
            rows = order[i * batch:(i + 1) * batch]
            x = data.index_select(0, rows)
            opt.zero_grad(set_to_none=True)
            with torch.autocast(device_type="cuda" if cuda else "cpu", dtype=torch.bfloat16, enabled=args.bf16):
                loss = loss_of(x, rows, step)
            loss.backward()
            opt.step()
            step += 1
            if after_step:
                after_step(step)

    run()  # warm-up
    rates = []
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    for _ in range(args.repeats):
        sync()
        t0 = time.perf_counter()
        run()
        sync()
        rates.append(batch * args.steps / (time.perf_counter() - t0))
    peak_mib = torch.cuda.max_memory_allocated() / 2**20 if cuda else (status_kib("VmHWM") - rss_before) / 1024
    model = "vit1d" if args.method == "st_mem" else "resnet1d"
    print(f"python pytorch {torch.__version__} {model} {args.size} {args.method} step: median {statistics.median(rates):.1f} "
          f"samples/s over {args.repeats} repeats (min {min(rates):.1f}, max {max(rates):.1f}), "
          f"peak {peak_mib:.0f} MiB {'on the device' if cuda else 'above start'}, {args.device}"
          f"{' bf16' if args.bf16 else ''}, {torch.get_num_threads()} threads")


if __name__ == "__main__":
    main()
