#!/usr/bin/python3
"""Generates the PyTorch reference cases of tests/data/rotation/ for
tests/test_rotation.c.

Run from the repository root with Debian's python3-torch (1.13 or later):

    /usr/bin/python3 tools/gen_rotation_reference.py [OUTDIR]

Each case registers torch.nn.utils.parametrizations.orthogonal on a module
whose `weight` is n x m (initialised by nn.init.orthogonal_), moves the
parametrisation's `original` X away from -I, and records, in float64:

  original       X (n x m), the parametrisation's trainable tensor
  base           the n x n `base` buffer
  weight         R = module.weight, the parametrised matrix (n x m)
  grad_weight    a random dR (n x m)
  grad_original  dX = d(sum(R * dR)) / dX, by torch's autograd

Files: <map>_square.safetensors (8 x 8), <map>_tall.safetensors (8 x 3) for
map in matrix_exp, householder, cayley, and matrix_exp_large.safetensors
(8 x 8 with a larger X, so that the exponential needs squarings).

X's diagonal is set to -1, 1.7, -1.2, ... : matrix_exp and cayley ignore it,
householder multiplies column j by int(X_jj), so the file also checks that
sign. Each file's __metadata__ holds map, n, m, the torch version and a
precision note. The safetensors writer below needs only json and struct.
"""
import json
import os
import struct
import sys

import torch
from torch.nn.utils import parametrizations


def save_safetensors(path, tensors, metadata):
    """tensors: list of (name, tensor), all written as F64; metadata: str -> str."""
    header = {"__metadata__": {k: str(v) for k, v in metadata.items()}}
    blobs = []
    offset = 0
    for name, t in tensors:
        values = t.detach().to(torch.float64).contiguous().reshape(-1).tolist()
        data = struct.pack("<%dd" % len(values), *values)
        header[name] = {"dtype": "F64", "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


class Holder(torch.nn.Module):
    def __init__(self, n, m):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.empty(n, m, dtype=torch.float64))
        torch.nn.init.orthogonal_(self.weight)


DIAGONAL = [-1.0, 1.7, -1.2, -1.0, 1.3, -1.9, 1.0, -1.0]


def make_case(path, orth_map, n, m, spread, seed):
    torch.manual_seed(seed)
    module = Holder(n, m)
    parametrizations.orthogonal(module, orthogonal_map=orth_map)
    param = module.parametrizations.weight
    with torch.no_grad():
        x = spread * torch.randn(n, m, dtype=torch.float64)
        for j in range(m):
            x[j, j] = DIAGONAL[j]
        param.original.copy_(x)
    weight = module.weight
    grad_weight = torch.randn(n, m, dtype=torch.float64)
    (weight * grad_weight).sum().backward()
    tensors = [
        ("original", param.original),
        ("base", param[0].base),
        ("weight", weight),
        ("grad_weight", grad_weight),
        ("grad_original", param.original.grad),
    ]
    metadata = {
        "map": orth_map, "n": n, "m": m, "seed": seed, "spread": spread,
        "torch": torch.__version__,
        "precision": "float64 throughout (torch.nn.utils.parametrizations.orthogonal)",
    }
    save_safetensors(path, tensors, metadata)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join("tests", "data", "rotation")
    os.makedirs(out, exist_ok=True)
    seed = 100
    for orth_map in ("matrix_exp", "householder", "cayley"):
        for label, (n, m) in (("square", (8, 8)), ("tall", (8, 3))):
            seed += 1
            make_case(os.path.join(out, "%s_%s.safetensors" % (orth_map, label)),
                      orth_map, n, m, 0.5, seed)
    make_case(os.path.join(out, "matrix_exp_large.safetensors"), "matrix_exp", 8, 8, 2.0, 200)


if __name__ == "__main__":
    main()
