#!/usr/bin/python3
"""Generates the PyTorch reference cases of tests/data/nn/ for tests/test_nn.c.

Run from the repository root with Debian's python3-torch (1.13 or later):

    /usr/bin/python3 tools/gen_nn_reference.py [OUTDIR]

Every file is safetensors (8-byte little-endian header length, JSON header,
raw little-endian data), written by the small helper below, so the script
needs only torch. Each file's __metadata__ holds flat string key/values: the
configuration of the case and a "precision" note saying how the reference
values were computed.

Files:
  mlp_<activation>.safetensors   pyvene's MLPForClassification (h_dim 8,
      n_layer 2, 3 classes, batch 4, S = 1) in eval mode, one per ACT2FN name;
  mlp_seq3 / mlp_nobias_n3 / mlp_nosqueeze / mlp_n0 / mlp_c1_regression
      variants: S > 1, include_bias false, squeeze_output false, n_layer 0,
      num_classes 1;
    each with the parameters under their state_dict names (F32), "inputs"
    (F32), "w" (F32), "logits" (F64) and "grad.<param>", "grad.inputs" (F64)
    of L = sum(logits * w); some also hold labels and pyvene's losses.
  optim_<case>.safetensors        5 optimizer steps on 3 tensors with fixed
      synthetic gradients: "param.<i>.init", "grad.<i>.step<k>",
      "param.<i>.step<k>" (after step k), "norm.step<k>" when clipping.
  losses.safetensors              cross-entropy, BCE with logits and MSE values
      and gradients.

The MLP below mirrors pyvene's modelings_mlp.py (MLPBlock = dropout(act(ff1(x))),
input dropout, score head, squeeze(1)); transformers' ACT2FN functions are
written out with torch's functional ops.
"""
import json
import math
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


# ---- safetensors writer -------------------------------------------------------

DTYPES = {torch.float32: ("F32", "f"), torch.float64: ("F64", "d"), torch.int64: ("I64", "q")}


def save_safetensors(path, tensors, metadata):
    """tensors: list of (name, tensor) in file order; metadata: dict str -> str."""
    header = {"__metadata__": {k: str(v) for k, v in metadata.items()}}
    blobs = []
    offset = 0
    for name, t in tensors:
        t = t.detach().contiguous().cpu()
        dtype, code = DTYPES[t.dtype]
        values = t.reshape(-1).tolist()
        data = struct.pack("<%d%s" % (len(values), code), *values)
        header[name] = {"dtype": dtype, "shape": list(t.shape),
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


# ---- pyvene's MLP --------------------------------------------------------------

def quick_gelu(x):
    return x * torch.sigmoid(1.702 * x)


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


ACT2FN = {
    "gelu": lambda x: F.gelu(x),
    "gelu_new": gelu_new,
    "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "relu": F.relu,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "silu": F.silu,
    "swish": F.silu,
    "relu6": F.relu6,
    "leaky_relu": lambda x: F.leaky_relu(x, 0.01),
    "quick_gelu": quick_gelu,
    "linear": lambda x: x,
}


class Block(nn.Module):
    def __init__(self, h_dim, act, pdrop, bias):
        super().__init__()
        self.ff1 = nn.Linear(h_dim, h_dim, bias=bias)
        self.act = act
        self.dropout = nn.Dropout(pdrop)

    def forward(self, x):
        return self.dropout(self.act(self.ff1(x)))


class MLPModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.dropout = nn.Dropout(cfg["pdrop"])
        self.h = nn.ModuleList([Block(cfg["h_dim"], ACT2FN[cfg["activation_function"]], cfg["pdrop"],
                                      cfg["include_bias"]) for _ in range(cfg["n_layer"])])

    def forward(self, x):
        x = self.dropout(x)
        for block in self.h:
            x = block(x)
        return x


class MLPForClassification(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.mlp = MLPModel(cfg)
        self.score = nn.Linear(cfg["h_dim"], cfg["num_classes"], bias=cfg["include_bias"])

    def forward(self, x):
        logits = self.score(self.mlp(x))
        if self.cfg["squeeze_output"]:
            logits = logits.squeeze(1)
        return logits


def pyvene_loss(logits, labels, num_classes):
    """pyvene's loss with problem_type None: inferred from C and the labels."""
    if num_classes == 1:
        return F.mse_loss(logits.squeeze(), labels.squeeze())
    if labels.dtype in (torch.long, torch.int):
        return F.cross_entropy(logits.view(-1, num_classes), labels.view(-1))
    return F.binary_cross_entropy_with_logits(logits, labels)


def mlp_case(outdir, name, seed, activation="gelu", n_layer=2, num_classes=3, seq=1,
             include_bias=True, squeeze_output=True, input_scale=2.0, labels=None):
    cfg = {"h_dim": 8, "n_layer": n_layer, "num_classes": num_classes,
           "activation_function": activation, "pdrop": 0.3, "include_bias": include_bias,
           "squeeze_output": squeeze_output}
    torch.manual_seed(seed)
    model = MLPForClassification(cfg)  # float32, PyTorch's default Linear init
    inputs = (torch.randn(4, seq, cfg["h_dim"]) * input_scale).float()
    state = [(k, v.detach().clone()) for k, v in model.state_dict().items()]

    ref = MLPForClassification(cfg).double()
    ref.load_state_dict({k: v.double() for k, v in state})
    ref.eval()
    x = inputs.double().requires_grad_(True)
    logits = ref(x)
    w = torch.randn(logits.shape).float()
    (logits * w.double()).sum().backward()

    tensors = list(state)
    tensors += [("inputs", inputs), ("w", w), ("logits", logits.detach())]
    tensors += [("grad." + k, p.grad) for k, p in ref.named_parameters()]
    tensors.append(("grad.inputs", x.grad))
    meta = {k: json.dumps(v) if not isinstance(v, str) else v for k, v in cfg.items()}
    meta["batch"] = "4"
    meta["seq"] = str(seq)
    meta["precision"] = "parameters, inputs and w are float32; logits and gradients computed in float64 from them"
    if labels == "classes":
        ids = torch.randint(0, num_classes, (4,), dtype=torch.long)
        onehot = F.one_hot(ids, num_classes).float()
        tensors += [("labels", ids), ("targets", onehot),
                    ("loss.single_label", pyvene_loss(logits.detach(), ids, num_classes)),
                    ("loss.multi_label", pyvene_loss(logits.detach(), onehot.double(), num_classes))]
    elif labels == "regression":
        y = torch.randn(4).float()
        tensors += [("targets", y), ("loss.regression", pyvene_loss(logits.detach(), y.double(), num_classes))]
    save_safetensors(os.path.join(outdir, name + ".safetensors"), tensors, meta)


# ---- optimizer trajectories ----------------------------------------------------------

def linear_warmup(warmup, total):
    def factor(step):
        if step < warmup:
            return float(step) / float(max(1, warmup))
        return max(0.0, float(total - step) / float(max(1, total - warmup)))
    return factor


OPTIM_CASES = [
    ("sgd", dict(kind="sgd", lr=0.1)),
    ("sgd_momentum", dict(kind="sgd", lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01)),
    ("sgd_nesterov", dict(kind="sgd", lr=0.1, momentum=0.9, dampening=0.0, weight_decay=0.01, nesterov=True)),
    ("sgd_momentum_clip_sched", dict(kind="sgd", lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01,
                                     clip=1.0, warmup=2, total=10)),
    ("adam", dict(kind="adam", lr=0.01)),
    ("adam_wd_skip", dict(kind="adam", lr=0.01, weight_decay=0.1, skip="2:1,3")),
    ("adam_amsgrad", dict(kind="adam", lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("adam_clip_sched", dict(kind="adam", lr=0.01, clip=1.0, warmup=2, total=10)),
    ("adamw", dict(kind="adamw")),
    ("adamw_amsgrad_clip_sched", dict(kind="adamw", lr=0.05, weight_decay=0.1, amsgrad=True,
                                      clip=1.0, warmup=2, total=10)),
]

STEP_SCALES = [2.0, 0.1, 1.0, 3.0, 0.05]
SHAPES = [(3, 4), (5,), (2, 2)]


def optim_case(outdir, name, spec, seed):
    torch.manual_seed(seed)
    params = [torch.randn(s).float().requires_grad_(True) for s in SHAPES]
    grads = [[(torch.randn(s) * scale).float() for s in SHAPES] for scale in STEP_SCALES]
    skip = {}
    if "skip" in spec:
        index, steps = spec["skip"].split(":")
        skip = {int(index): [int(k) for k in steps.split(",")]}
    kind = spec["kind"]
    if kind == "sgd":
        opt = torch.optim.SGD(params, lr=spec["lr"], momentum=spec.get("momentum", 0),
                              dampening=spec.get("dampening", 0), weight_decay=spec.get("weight_decay", 0),
                              nesterov=spec.get("nesterov", False), foreach=False)
    else:
        cls = torch.optim.Adam if kind == "adam" else torch.optim.AdamW
        kwargs = {}
        for key in ("lr", "weight_decay"):
            if key in spec:
                kwargs[key] = spec[key]
        opt = cls(params, amsgrad=spec.get("amsgrad", False), foreach=False, **kwargs)
    sched = None
    if "warmup" in spec:
        sched = torch.optim.lr_scheduler.LambdaLR(opt, linear_warmup(spec["warmup"], spec["total"]))
    tensors = [("param.%d.init" % i, p.detach().clone()) for i, p in enumerate(params)]
    for k, step_grads in enumerate(grads):
        for i, p in enumerate(params):
            p.grad = None if k in skip.get(i, []) else step_grads[i].clone()
            tensors.append(("grad.%d.step%d" % (i, k), step_grads[i]))
        if "clip" in spec:
            norm = torch.nn.utils.clip_grad_norm_(params, spec["clip"])
            tensors.append(("norm.step%d" % k, norm.detach().float().reshape(1)))
        opt.step()
        if sched is not None:
            sched.step()
        for i, p in enumerate(params):
            tensors.append(("param.%d.step%d" % (i, k), p.detach().clone()))
    meta = {"kind": kind, "steps": str(len(STEP_SCALES)), "params": str(len(SHAPES)),
            "precision": "float32: PyTorch's own optimizer arithmetic on float32 tensors (single-tensor path)"}
    group = opt.param_groups[0]
    meta["lr"] = repr(group["initial_lr"] if sched is not None else group["lr"])
    meta["weight_decay"] = repr(group["weight_decay"])
    if kind == "sgd":
        meta.update(momentum=repr(group["momentum"]), dampening=repr(group["dampening"]),
                    nesterov=json.dumps(group["nesterov"]))
    else:
        meta.update(beta1=repr(group["betas"][0]), beta2=repr(group["betas"][1]), eps=repr(group["eps"]),
                    amsgrad=json.dumps(group["amsgrad"]))
    meta["clip"] = repr(spec["clip"]) if "clip" in spec else "none"
    meta["warmup"] = str(spec.get("warmup", -1))
    meta["total"] = str(spec.get("total", -1))
    meta["skip"] = spec.get("skip", "none")
    save_safetensors(os.path.join(outdir, "optim_" + name + ".safetensors"), tensors, meta)


# ---- losses -----------------------------------------------------------------------------

def losses(outdir, seed):
    torch.manual_seed(seed)
    tensors = []
    ce_logits = (torch.randn(5, 3) * 2).float()
    ce_labels = torch.tensor([2, 0, 1, 1, 0], dtype=torch.long)
    x = ce_logits.double().requires_grad_(True)
    loss = F.cross_entropy(x, ce_labels)
    loss.backward()
    tensors += [("ce.logits", ce_logits), ("ce.labels", ce_labels), ("ce.loss", loss.detach()),
                ("ce.grad", x.grad)]

    bce_logits = (torch.randn(4, 3) * 3).float()
    bce_targets = torch.rand(4, 3).float()
    x = bce_logits.double().requires_grad_(True)
    t = bce_targets.double().requires_grad_(True)
    loss = F.binary_cross_entropy_with_logits(x, t)
    loss.backward()
    tensors += [("bce.logits", bce_logits), ("bce.targets", bce_targets), ("bce.loss", loss.detach()),
                ("bce.grad.logits", x.grad), ("bce.grad.targets", t.grad)]

    mse_a = torch.randn(6).float()
    mse_b = torch.randn(6).float()
    a = mse_a.double().requires_grad_(True)
    b = mse_b.double().requires_grad_(True)
    loss = F.mse_loss(a, b)
    loss.backward()
    tensors += [("mse.input", mse_a), ("mse.target", mse_b), ("mse.loss", loss.detach()),
                ("mse.grad.input", a.grad), ("mse.grad.target", b.grad)]
    meta = {"precision": "inputs float32; losses and gradients computed in float64 from them (mean reduction)"}
    save_safetensors(os.path.join(outdir, "losses.safetensors"), tensors, meta)


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join("tests", "data", "nn")
    os.makedirs(outdir, exist_ok=True)
    for i, act in enumerate(ACT2FN):
        mlp_case(outdir, "mlp_" + act, seed=100 + i, activation=act,
                 input_scale=8.0 if act == "relu6" else 2.0,
                 labels="classes" if act == "gelu" else None)
    mlp_case(outdir, "mlp_seq3", seed=200, activation="gelu", seq=3)
    mlp_case(outdir, "mlp_nobias_n3", seed=201, activation="relu", n_layer=3, include_bias=False)
    mlp_case(outdir, "mlp_nosqueeze", seed=202, activation="tanh", squeeze_output=False)
    mlp_case(outdir, "mlp_n0", seed=203, activation="gelu", n_layer=0)
    mlp_case(outdir, "mlp_c1_regression", seed=204, activation="silu", n_layer=1, num_classes=1,
             labels="regression")
    for i, (name, spec) in enumerate(OPTIM_CASES):
        optim_case(outdir, name, spec, seed=300 + i)
    losses(outdir, seed=400)
    print("torch", torch.__version__, "->", outdir)


if __name__ == "__main__":
    main()
