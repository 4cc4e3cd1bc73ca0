#!/usr/bin/python3
"""Times the DAS training step of `cvene bench das` in PyTorch, single thread,
and prints one table with cvene's numbers and the ratio.

    /usr/bin/python3 tools/bench_torch.py [--cvene build/tools/cvene] [--seconds S]
                                         [--h H] [--maps matrix_exp,householder,cayley]

The step is pyvene's: the MLP of MLPForClassification (ff1 Linear, gelu per
block, score Linear; eval mode, frozen), a RotateLayer whose weight is
parametrised with torch.nn.utils.parametrizations.orthogonal (as pyvene's
RotatedSpaceIntervention builds it), at layer 0 block_output the mix
y = mix(xR, sR)·Rᵀ with partition [[0, h/2], [h/2, h]] and subspace [0] for
every example, cross-entropy on the counterfactual logits, backward, Adam
(lr 1e-3) on the rotation. Inputs are (batch, 1, h). The source run stops at
layer 0, as pyvene's does.

For the tall householder case cvene uses LowRankRotatedSpaceIntervention
(h x h/2); here the same: an h x h/2 orthogonal weight, y = x + ((sR - xR)·m)·Rᵀ.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import torch

SHAPES = [(16, 3, 64), (32, 1, 64), (128, 2, 64), (512, 2, 64), (1024, 2, 32)]


class MLP(torch.nn.Module):
    """pyvene's MLPForClassification without embeddings (inputs_embeds)."""

    def __init__(self, h, n_layer, num_classes=2):
        super().__init__()
        self.ff1 = torch.nn.ModuleList([torch.nn.Linear(h, h) for _ in range(n_layer)])
        self.score = torch.nn.Linear(h, num_classes)
        self.act = torch.nn.GELU()
        self.drop = torch.nn.Dropout(0.0)

    def blocks(self, x, upto=None, hook=None):
        for layer, ff1 in enumerate(self.ff1):
            x = self.drop(self.act(ff1(x)))
            if hook is not None and layer == 0:
                x = hook(x)
            if upto is not None and layer == upto:
                return x
        return x

    def forward(self, x, hook=None):
        return self.score(self.blocks(x, hook=hook)).squeeze(1)


class RotateLayer(torch.nn.Module):
    """pyvene's RotateLayer: rotated = x·weight, weight orthogonal_-initialised."""

    def __init__(self, n, m):
        super().__init__()
        weight = torch.empty(n, m)
        torch.nn.init.orthogonal_(weight)
        self.weight = torch.nn.Parameter(weight, requires_grad=True)

    def forward(self, x):
        return torch.matmul(x.to(self.weight.dtype), self.weight)


def make_step(h, n_layer, batch, orth_map, low_rank):
    torch.manual_seed(0)
    mlp = MLP(h, n_layer).eval()
    for p in mlp.parameters():
        p.requires_grad_(False)
    m = h // 2 if low_rank else h
    rotate = RotateLayer(h, m)
    rotate = torch.nn.utils.parametrizations.orthogonal(rotate, orthogonal_map=orth_map)
    opt = torch.optim.Adam(rotate.parameters(), lr=1e-3)
    base = torch.rand(batch, 1, h) * 2 - 1
    source = torch.rand(batch, 1, h) * 2 - 1
    labels = torch.arange(batch) % 2
    # partition [[0, m/2], [m/2, m]], subspace [0] for every example
    mask = torch.zeros(m)
    mask[: m // 2] = 1

    def step():
        opt.zero_grad()
        src = mlp.blocks(source, upto=0)

        def hook(x):
            r = rotate.weight  # the parametrisation computes R once per access
            xr = torch.matmul(x, r)
            sr = torch.matmul(src, r)
            if low_rank:
                return x + torch.matmul((sr - xr) * mask, r.T)
            mixed = xr * (1 - mask) + sr * mask
            return torch.matmul(mixed, r.T)

        logits = mlp(base, hook=hook)
        loss = torch.nn.functional.cross_entropy(logits, labels)
        loss.backward()
        opt.step()

    return step


def time_steps(step, seconds):
    for _ in range(3):
        step()
    t0 = time.perf_counter()
    reps = 0
    while time.perf_counter() - t0 < seconds / 16:
        step()
        reps += 1
    per = (time.perf_counter() - t0) / max(reps, 1)
    batch = max(1, int(seconds / 8 / max(per, 1e-9)))
    best, end, batches = 0.0, time.perf_counter() + seconds, 0
    while time.perf_counter() < end or batches < 3:
        s = time.perf_counter()
        for _ in range(batch):
            step()
        dt = time.perf_counter() - s
        best = max(best, batch / dt if dt > 0 else 0)
        batches += 1
    return best


def cvene_numbers(exe, seconds, only_h):
    cmd = [exe, "bench", "das", "--json", "--seconds", str(seconds)]
    if only_h:
        cmd += ["--h", str(only_h)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return {(r["map"], r["h"]): r for r in json.loads(out)}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cvene", default=os.path.join(here, "..", "build", "tools", "cvene"))
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--h", type=int, default=0)
    ap.add_argument("--maps", default="matrix_exp,householder,householder_low_rank,cayley")
    args = ap.parse_args()
    torch.set_num_threads(1)
    maps = args.maps.split(",")
    ours = cvene_numbers(args.cvene, args.seconds, args.h)
    load = os.getloadavg()
    print(f"DAS training steps/s, single thread; torch {torch.__version__}, "
          f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    print(f"{'map':<22} {'h':>5} {'layers':>6} {'batch':>5} {'cvene':>10} {'PyTorch':>10} {'ratio':>7} "
          f"{'vs torch matrix_exp':>20}")
    torch_expm = {}
    for orth_map in maps:
        for h, n_layer, batch in SHAPES:
            if args.h and h != args.h:
                continue
            low_rank = orth_map == "householder_low_rank"
            torch_map = "householder" if low_rank else orth_map
            step = make_step(h, n_layer, batch, torch_map, low_rank)
            theirs = time_steps(step, args.seconds)
            if orth_map == "matrix_exp":
                torch_expm[h] = theirs
            mine = ours.get((orth_map, h), {}).get("steps_per_second", float("nan"))
            vs = mine / torch_expm[h] if h in torch_expm else float("nan")
            print(f"{orth_map:<22} {h:>5} {n_layer:>6} {batch:>5} {mine:>10.1f} {theirs:>10.1f} "
                  f"{mine / theirs:>6.2f}x {vs:>19.2f}x", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
