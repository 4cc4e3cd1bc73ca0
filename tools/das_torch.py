#!/usr/bin/env python3
"""das_torch.py — the DAS tutorial's recipe in plain PyTorch, as an
independent cross-check of `cvene das` (same recipe, torch's own random
streams, so the numbers agree in distribution, not digit for digit).

    /usr/bin/python3 tools/das_torch.py [--seed S] [--layer L] [--epochs N] [--init pytorch|normal]

1. Factual data: 1,048,576 inputs of four 4-d entities, each coordinate
   round(uniform(-1, 1), 2); pattern uniform over ABCD/AABB/AACD/ABCC; label
   (W==X) == (Y==Z).
2. pyvene's MLP (3 ReLU blocks of 16, head 16 -> 2) trained as the tutorial's
   transformers Trainer does: AdamW lr 1e-3, weight decay 0, linear decay to 0,
   no warm-up, gradient clipping at 1.0, batches of 1024, 3 epochs,
   BCE-with-logits on one-hot labels (pyvene's inferred loss). Tested on
   10,000 fresh examples.
3. DAS: the model frozen; one orthogonal 16x16 rotation
   (torch.nn.utils.parametrizations.orthogonal, matrix_exp) shared by the WX
   intervention (rotated coordinates 0-7) and the YZ intervention (8-15) at
   the chosen layer's block output; 200 batches of 6400 counterfactual
   examples, each batch with one sampled intervention (WX only, YZ only or
   both, 1/3 each, with fair-coin values; sources realise the values); 10
   epochs in a new batch order each epoch; Adam lr 1e-3; cross-entropy on the
   counterfactual labels.
4. IIA on 12,000 held-out counterfactual examples, a third of each kind.
"""
import argparse
import time

import numpy as np
import torch

H, DIM = 16, 4


class MLP(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.h = torch.nn.ModuleList([torch.nn.Linear(H, H) for _ in range(3)])
        self.score = torch.nn.Linear(H, 2)

    def forward(self, x, layer=None, hook=None):
        for i, block in enumerate(self.h):
            x = torch.relu(block(x))
            if hook is not None and i == layer:
                x = hook(x)
        return self.score(x)

    def block_output(self, x, layer):
        for block in self.h[: layer + 1]:
            x = torch.relu(block(x))
        return x


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--layer", type=int, default=0)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--init", choices=["pytorch", "normal"], default="pytorch")
    a = p.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(a.seed)
    torch.manual_seed(a.seed)

    def entities(n):
        return np.round(rng.uniform(-1, 1, (n, DIM)), 2)

    def sample(n, wx=None, yz=None):
        """Inputs with the given equalities (None: a fair coin per example)."""
        wx = rng.random(n) < 0.5 if wx is None else np.broadcast_to(np.asarray(wx, dtype=bool), (n,))
        yz = rng.random(n) < 0.5 if yz is None else np.broadcast_to(np.asarray(yz, dtype=bool), (n,))
        w, x, y, z = entities(n), entities(n), entities(n), entities(n)
        rows = np.concatenate([w, np.where(wx[:, None], w, x), y, np.where(yz[:, None], y, z)], 1)
        return rows.astype(np.float32), wx, yz

    t0 = time.time()
    mlp = MLP()
    if a.init == "normal":
        with torch.no_grad():
            for m in list(mlp.h) + [mlp.score]:
                m.weight.normal_(0, 0.02)
                m.bias.zero_()
    n = 1048576
    x, wx, yz = sample(n)
    x = torch.from_numpy(x)
    y = torch.nn.functional.one_hot(torch.from_numpy((wx == yz).astype(np.int64)), 2).float()
    opt = torch.optim.AdamW(mlp.parameters(), lr=1e-3, weight_decay=0.0)
    steps = 3 * n // 1024
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: max(0.0, (steps - k) / steps))
    for epoch in range(3):
        perm = torch.randperm(n)
        for s in range(n // 1024):
            idx = perm[s * 1024:(s + 1) * 1024]
            loss = torch.nn.functional.binary_cross_entropy_with_logits(mlp(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(mlp.parameters(), 1.0)
            opt.step()
            sched.step()
    xt, a_, b_ = sample(10000)
    with torch.no_grad():
        factual = (mlp(torch.from_numpy(xt)).argmax(1).numpy() == (a_ == b_)).mean()
    t_mlp = time.time() - t0
    for q in mlp.parameters():
        q.requires_grad_(False)

    rot = torch.nn.Linear(H, H, bias=False)
    torch.nn.init.orthogonal_(rot.weight)
    rot = torch.nn.utils.parametrizations.orthogonal(rot)

    def batch(count, kind, v_wx, v_yz):
        base, bwx, byz = sample(count)
        s0, s1 = np.zeros_like(base), np.zeros_like(base)
        cwx, cyz = bwx, byz
        if kind in (0, 2):
            s0, cwx, _ = sample(count, wx=v_wx)
        if kind in (1, 2):
            s1, _, cyz = sample(count, yz=v_yz)
        f = torch.from_numpy
        return f(base), f(s0), f(s1), torch.from_numpy((cwx == cyz).astype(np.int64))

    def swap(u, s, lo, hi):
        r = rot.weight
        ru, rs = u @ r, s @ r
        return torch.cat([ru[:, :lo], rs[:, lo:hi], ru[:, hi:]], 1) @ r.T

    def counterfactual(base, s0, s1, kind):
        r0 = mlp.block_output(s0, a.layer) if kind in (0, 2) else None
        r1 = mlp.block_output(s1, a.layer) if kind in (1, 2) else None

        def hook(u):
            if r0 is not None:
                u = swap(u, r0, 0, 8)
            if r1 is not None:
                u = swap(u, r1, 8, 16)
            return u

        return mlp(base, a.layer, hook)

    def sample_intervention():
        while True:
            included, values = [], [False, False]
            for v in range(2):
                if rng.random() < 0.5:
                    included.append(v)
                    values[v] = bool(rng.random() < 0.5)
            if included:
                return (2 if len(included) == 2 else included[0]), values

    data = []
    for _ in range(200):
        kind, values = sample_intervention()
        data.append((kind,) + batch(6400, kind, *values))
    opt = torch.optim.Adam(rot.parameters(), lr=1e-3)
    t1 = time.time()
    for epoch in range(a.epochs):
        total_loss = total_iia = 0.0
        for b in rng.permutation(200):
            kind, base, s0, s1, labels = data[b]
            out = counterfactual(base, s0, s1, kind)
            loss = torch.nn.functional.cross_entropy(out, labels)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total_loss += loss.item()
            total_iia += (out.argmax(1) == labels).float().mean().item()
        print("epoch %2d  loss %.4f  IIA %.4f" % (epoch + 1, total_loss / 200, total_iia / 200), flush=True)
    t_das = time.time() - t1
    correct = 0
    per_kind = []
    with torch.no_grad():
        for kind in range(3):
            c = 0
            for _ in range(4):
                base, s0, s1, labels = batch(1000, kind, rng.random(1000) < 0.5, rng.random(1000) < 0.5)
                c += (counterfactual(base, s0, s1, kind).argmax(1) == labels).sum().item()
            per_kind.append(c / 4000)
            correct += c
    print("seed %d layer %d: factual accuracy %.4f; IIA WX %.4f YZ %.4f both %.4f; MLP %.1f s, alignment %.1f s"
          % (a.seed, a.layer, factual, per_kind[0], per_kind[1], per_kind[2], t_mlp, t_das))
    print("test IIA: %.4f" % (correct / 12000))


if __name__ == "__main__":
    main()
