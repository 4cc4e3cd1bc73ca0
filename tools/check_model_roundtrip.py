#!/usr/bin/env python3
"""check_model_roundtrip.py — a model directory written by `cvene train`,
loaded into an MLP written here in PyTorch, gives cvene's logits.

    python3 tools/check_model_roundtrip.py [--cvene build/tools/cvene] [--model DIR]

Without --model it first trains a small model with `cvene train --task
hierarchical-equality` into a temporary directory. Then it

  1. reads DIR/config.json and DIR/model.safetensors with json + struct (no
     `safetensors` package needed; F32 and F64 tensors),
  2. builds pyvene's MLPForClassification in torch (ff1 + activation per
     block, no residual, the `score` head) and loads the tensors by their
     state_dict names with strict=True,
  3. writes random inputs (B, 1, h) to a data file, runs
     `cvene eval --model DIR --data FILE --out OUT` and reads cvene's
     base_logits,
  4. compares them with torch's logits: the largest difference must be at
     most 1e-5. Exit status 0 when it is, 1 otherwise.

With the `safetensors` package, loading is the usual two lines:
    from safetensors.torch import load_file
    mlp.load_state_dict(load_file("DIR/model.safetensors"))
"""
import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import torch

DTYPES = {"F32": ("f", 4, torch.float32), "F64": ("d", 8, torch.float64)}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    body = data[8 + n :]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        fmt, size, dtype = DTYPES[info["dtype"]]
        begin, end = info["data_offsets"]
        count = (end - begin) // size
        values = struct.unpack("<%d%s" % (count, fmt), body[begin:end])
        tensors[name] = torch.tensor(values, dtype=dtype).reshape(info["shape"])
    return tensors


def write_safetensors(path, tensors):
    header, chunks, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.contiguous().to(torch.float32)
        raw = struct.pack("<%df" % t.numel(), *t.flatten().tolist())
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))


ACTIVATIONS = {
    "relu": torch.nn.ReLU,
    "gelu": torch.nn.GELU,
    "tanh": torch.nn.Tanh,
    "sigmoid": torch.nn.Sigmoid,
    "silu": torch.nn.SiLU,
    "swish": torch.nn.SiLU,
    "linear": torch.nn.Identity,
}


class Block(torch.nn.Module):
    def __init__(self, h, act, bias):
        super().__init__()
        self.ff1 = torch.nn.Linear(h, h, bias=bias)
        self.act = ACTIVATIONS[act]()

    def forward(self, x):
        return self.act(self.ff1(x))


class MLPModel(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.h = torch.nn.ModuleList(
            [Block(c["h_dim"], c["activation_function"], c["include_bias"]) for _ in range(c["n_layer"])])

    def forward(self, x):
        for block in self.h:
            x = block(x)
        return x


class MLPForClassification(torch.nn.Module):
    """pyvene's MLP in eval mode (dropout is the identity there)."""

    def __init__(self, c):
        super().__init__()
        self.mlp = MLPModel(c)
        self.score = torch.nn.Linear(c["h_dim"], c["num_classes"], bias=c["include_bias"])
        self.squeeze = c["squeeze_output"]

    def forward(self, x):
        logits = self.score(self.mlp(x))
        return logits.squeeze(1) if self.squeeze else logits


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cvene", default="build/tools/cvene")
    parser.add_argument("--model", help="a model directory (default: train one)")
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="cvene-roundtrip-")
    model_dir = args.model
    if model_dir is None:
        model_dir = os.path.join(work, "model")
        subprocess.run([args.cvene, "train", "--task", "hierarchical-equality", "--examples", "65536",
                        "--epochs", "1", "--test-examples", "1000", "--out", model_dir], check=True,
                       stdout=subprocess.DEVNULL)
    with open(os.path.join(model_dir, "config.json")) as f:
        config = json.load(f)
    state = read_safetensors(os.path.join(model_dir, "model.safetensors"))
    mlp = MLPForClassification(config).double()
    mlp.load_state_dict({k: v.double() for k, v in state.items()}, strict=True)
    mlp.eval()
    torch.manual_seed(0)
    base = torch.rand(args.batch, 1, config["h_dim"]) * 2 - 1
    data, out = os.path.join(work, "data.safetensors"), os.path.join(work, "logits.safetensors")
    write_safetensors(data, {"base": base})
    subprocess.run([args.cvene, "eval", "--model", model_dir, "--data", data, "--out", out], check=True,
                   stdout=subprocess.DEVNULL)
    cvene_logits = read_safetensors(out)["base_logits"].double()
    with torch.no_grad():
        torch_logits = mlp(base.double())
    diff = (cvene_logits - torch_logits).abs().max().item()
    ok = cvene_logits.shape == torch_logits.shape and diff <= 1e-5
    print("%s: %d tensors loaded into torch; logits %s, max |cvene - torch| = %.3g: %s" % (
        args.model or "a freshly trained model", len(state), tuple(torch_logits.shape), diff,
        "ok" if ok else "MISMATCH"))
    shutil.rmtree(work)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
