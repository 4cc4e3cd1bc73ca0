#!/usr/bin/python3
"""Generates the intervention reference cases of tests/data/cases/ for
tests/test_refcases.c: the intervention types and configurations that the
shared cases in tests/data/ref/ do not cover.

Run from the repository root with Debian's python3-torch (1.13 or later):

    /usr/bin/python3 tools/gen_intervene_reference.py [OUTDIR]

Each case directory has the layout of tests/data/ref/ (see its README.md):
model/, intervention/, data.safetensors, expected.safetensors, case.json and,
for align cases, align.json and expected_align.safetensors.

How the values are made: the inputs (weights, rotations, data) are drawn in
float32 and stored; the outputs are computed from those stored values in
float64 by the re-implementation below of pyvene's MLP (pyvene's
modelings_mlp.py, via gen_nn_reference.py's activations), its intervenable
forward pass (source runs gather at the source unit locations, the base run
applies each intervention at its base locations, representations at one site
in config order, linked ones sharing their tensors) and its intervention
types (pyvene's interventions.py), then rounded to float32. PyTorch's
orthogonal parametrisations (torch/nn/utils/parametrizations.py) are written
out: R = base @ matrix_exp(tril(X) - tril(X)^T) for square matrices and the
Householder product for tall ones. Gradients come from torch.autograd in
float64, taken with respect to the materialised R.

Where cvene defines behaviour pyvene does not have, the reference follows
cvene's definition: per-example subspaces and `active` flags (each example
its own coordinates; a coordinate selected twice counts once), None sources
per group, CollectIntervention returning m * x while the model continues
unchanged. Types that act on each unit separately (pyvene's "localist"
Vanilla, Addition, Subtraction, Zero, Collect, Skip) see (B, k, h) with the
partition over h; the others see the k units concatenated, (B, k*h).
"""
import json
import math
import os
import struct
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_nn_reference import ACT2FN, save_safetensors  # noqa: E402

D = torch.float64
COMPONENTS = ("block_input", "mlp_activation", "block_output")
TOL = {"base_logits": {"abs": 1e-5, "rel": 0.0}, "counterfactual_logits": {"abs": 1e-5, "rel": 0.0},
       "collected.*": {"abs": 1e-5, "rel": 0.0}, "grad.*": {"abs": 1e-5, "rel": 1e-4}}
ALIGN_TOL = {"losses": {"abs": 1e-5, "rel": 0.0}, "*": {"abs": 1e-5, "rel": 1e-4}}
TYPES_WITH_ROTATION = ("RotatedSpaceIntervention", "LowRankRotatedSpaceIntervention",
                       "BoundlessRotatedSpaceIntervention", "SigmoidMaskRotatedSpaceIntervention")
UNITWISE = ("VanillaIntervention", "AdditionIntervention", "SubtractionIntervention", "ZeroIntervention",
            "CollectIntervention", "SkipIntervention")
SOURCELESS = ("ZeroIntervention", "CollectIntervention")


def f32(t):
    return t.to(torch.float32)


# ---- the model ------------------------------------------------------------------

def mlp_forward(params, cfg, x, hook, pre_acts):
    """pyvene's MLPForClassification in eval mode with hooks at the three sites.
    hook(component, layer, tensor) -> tensor. pre_acts collects ff1 outputs."""
    act = ACT2FN[cfg["activation_function"]]
    for l in range(cfg["n_layer"]):
        x = hook("block_input", l, x)
        z = x @ params["mlp.h.%d.ff1.weight" % l].T + params["mlp.h.%d.ff1.bias" % l]
        pre_acts.append(z.detach())
        a = hook("mlp_activation", l, act(z))
        x = hook("block_output", l, a)
    logits = x @ params["score.weight"].T + params["score.bias"]
    if cfg["squeeze_output"] and logits.shape[1] == 1:
        logits = logits.squeeze(1)
    return logits


def make_model(gen, h, n_layer, activation, classes=2, pdrop=0.0):
    cfg = {"model_type": "mlp", "h_dim": h, "n_layer": n_layer, "num_classes": classes,
           "activation_function": activation, "pdrop": pdrop, "include_bias": True, "squeeze_output": True}
    bound = 1.0 / math.sqrt(h)
    params = {}
    for l in range(n_layer):
        params["mlp.h.%d.ff1.weight" % l] = f32((torch.rand(h, h, generator=gen, dtype=D) * 2 - 1) * bound * 2)
        params["mlp.h.%d.ff1.bias" % l] = f32((torch.rand(h, generator=gen, dtype=D) * 2 - 1) * bound)
    params["score.weight"] = f32((torch.rand(classes, h, generator=gen, dtype=D) * 2 - 1) * bound * 2)
    params["score.bias"] = f32((torch.rand(classes, generator=gen, dtype=D) * 2 - 1) * bound)
    return cfg, params


# ---- rotations ------------------------------------------------------------------

def orthogonal(gen, n, m):
    """Haar-like n x m matrix with orthonormal columns (float32), as torch's orthogonal_."""
    a = torch.randn(n, m, generator=gen, dtype=D)
    q, r = torch.linalg.qr(a)
    q = q * torch.sign(torch.diagonal(r)).unsqueeze(0)
    return f32(q)


def materialise(x, base, mapping):
    """torch's _Orthogonal.forward for an n x m `original` X and n x n base."""
    n, m = x.shape
    if mapping == "matrix_exp":
        xt = x.tril()
        if n != m:
            xt = torch.cat([xt, xt.new_zeros(n, n - m)], dim=-1)
        q = torch.matrix_exp(xt - xt.T)[:, :m]
    else:  # householder
        a = x.tril(diagonal=-1)
        tau = 2.0 / (1.0 + (a * a).sum(dim=-2))
        q = torch.linalg.householder_product(a, tau)
        q = q * x.diagonal().trunc().unsqueeze(-2)
    return base @ q


# ---- the interventions ------------------------------------------------------------

def expand_partition(partition):
    if partition is None:
        return None
    out = []
    for entry in partition:
        out.append(list(range(entry[0], entry[1])) if len(entry) == 2 else list(entry))
    return out


def coords_mask(rep, ids, c):
    """0/1 mask over c coordinates for one example's subspace list (None: all)."""
    m = torch.zeros(c, dtype=D)
    if ids is None:
        m[:] = 1
        return m
    parts = expand_partition(rep.get("subspace_partition"))
    for i in ids:
        for j in (parts[i] if parts is not None else [i]):
            m[j] = 1
    return m


def apply_type(rep, x, s, masks, t):
    """One intervention on gathered rows x (B_a, k, h) with source s; masks is
    (B_a, c) (one row per example) or None; t holds the type's tensors."""
    kind = rep["intervention_type"]
    b, k, h = x.shape
    if kind in UNITWISE:
        m = masks.unsqueeze(1)  # (B_a, 1, h): the same coordinates at every unit
        if kind in ("VanillaIntervention", "SkipIntervention"):
            return (1 - m) * x + m * s
        if kind == "AdditionIntervention":
            return x + m * s
        if kind == "SubtractionIntervention":
            return x - m * s
        if kind == "ZeroIntervention":
            return (1 - m) * x
        if kind == "CollectIntervention":
            return m * x
    xf, sf = x.reshape(b, k * h), s.reshape(b, k * h)
    if kind == "RotatedSpaceIntervention":
        r = t["R"]
        u = (1 - masks) * (xf @ r) + masks * (sf @ r)
        y = u @ r.T
    elif kind == "LowRankRotatedSpaceIntervention":
        w = t["R"]
        y = xf + (((sf @ w) - (xf @ w)) * masks) @ w.T
    elif kind == "BoundlessRotatedSpaceIntervention":
        r, n = t["R"], k * h
        beta = torch.clamp(t["boundaries"], 1e-3, 1)
        j = torch.arange(n, dtype=D)
        temp = t["temperature"]
        mk = torch.sigmoid((j - 0.0) / temp) * torch.sigmoid((beta[0] * n - j) / temp)
        y = ((1 - mk) * (xf @ r) + mk * (sf @ r)) @ r.T
    elif kind == "SigmoidMaskRotatedSpaceIntervention":
        r = t["R"]
        mk = torch.sigmoid(t["masks"] / t["temperature"])
        y = ((1 - mk) * (xf @ r) + mk * (sf @ r)) @ r.T
    elif kind == "SigmoidMaskIntervention":
        mk = torch.sigmoid(t["masks"] / t["temperature"])
        y = (1 - mk) * xf + mk * sf
    else:
        raise ValueError(kind)
    return y.reshape(b, k, h)


def key_of(reps, i):
    r = reps[i]
    same = sum(1 for q in reps[:i] if (q["layer"], q["component"], q["max_number_of_units"]) ==
               (r["layer"], r["component"], r["max_number_of_units"]))
    return "layer_%d_comp_%s_unit_pos_nunit_%d#%d" % (r["layer"], r["component"], r["max_number_of_units"], same)


def groups_of(reps):
    if any(r.get("group_key") is not None for r in reps):
        keys = sorted(set(r["group_key"] for r in reps))
        return [keys.index(r["group_key"]) for r in reps], len(keys)
    return list(range(len(reps))), len(reps)


def owner_of(reps, i):
    lk = reps[i].get("intervention_link_key")
    if lk is None:
        return i
    return next(j for j in range(i + 1) if reps[j].get("intervention_link_key") == lk)


def coord_size(rep, h):
    k = rep["max_number_of_units"]
    if rep["intervention_type"] == "LowRankRotatedSpaceIntervention":
        return rep["low_rank_dimension"]
    return h if rep["intervention_type"] in UNITWISE else h * k


def intervenable_forward(cfg, params, reps, tensors, data, pre_acts):
    """Base logits (no grad) and counterfactual logits, plus collected values."""
    h = cfg["h_dim"]
    groups, n_groups = groups_of(reps)
    base = data["base"]
    B, S = base.shape[0], base.shape[1]
    meta_loc = data.get("unit_locations")
    meta_sub = data.get("subspaces")
    with torch.no_grad():
        base_logits = mlp_forward(params, cfg, base, lambda c, l, t: t, [])

    def locations(i, side, seq):
        if meta_loc is not None and meta_loc[side][i] is not None:
            return meta_loc[side][i]
        return [list(range(reps[i]["max_number_of_units"]))] * B

    plan = []
    for i, rep in enumerate(reps):
        g = groups[i]
        src = data["sources"].get(g)
        kind = rep["intervention_type"]
        if kind not in SOURCELESS and src is None:
            plan.append(None)
            continue
        active = data["active"].get(g)
        rows = [b for b in range(B) if active is None or active[b]]
        if not rows:
            plan.append(None)
            continue
        sub = meta_sub[i] if meta_sub is not None else None
        masks = torch.stack([coords_mask(rep, None if sub is None else sub[b], coord_size(rep, h)) for b in rows])
        plan.append({"rows": rows, "base_loc": locations(i, 1, S), "masks": masks,
                     "src_loc": locations(i, 0, None) if src is not None else None})
    gathered = {}
    for g in range(n_groups):
        src = data["sources"].get(g)
        need = [i for i in range(len(reps)) if groups[i] == g and plan[i] is not None
                and reps[i]["intervention_type"] not in SOURCELESS]
        if not need:
            continue

        def getter(comp, layer, t, need=need):
            for i in need:
                rep = reps[i]
                want = "block_input" if rep["intervention_type"] == "SkipIntervention" else rep["component"]
                if rep["layer"] == layer and want == comp:
                    p = plan[i]
                    gathered[i] = torch.stack([torch.stack([t[b, j] for j in p["src_loc"][b]]) for b in p["rows"]])
            return t
        mlp_forward(params, cfg, src, getter, pre_acts)
    collected = {}

    def setter(comp, layer, t):
        for i, rep in enumerate(reps):
            p = plan[i]
            if p is None or rep["layer"] != layer or rep["component"] != comp:
                continue
            x = torch.stack([torch.stack([t[b, j] for j in p["base_loc"][b]]) for b in p["rows"]])
            y = apply_type(rep, x, gathered.get(i), p["masks"], tensors.get(owner_of(reps, i), {}))
            if rep["intervention_type"] == "CollectIntervention":
                collected[i] = y
                continue
            out = t.clone()
            for a, b in enumerate(p["rows"]):
                for j, pos in enumerate(p["base_loc"][b]):
                    out[b, pos] = y[a, j]
            t = out
        return t
    cf = mlp_forward(params, cfg, base, setter, pre_acts)
    return base_logits, cf, collected


# ---- writing a case ---------------------------------------------------------------

def write_json(path, value):
    with open(path, "w") as f:
        json.dump(value, f, indent=1)
        f.write("\n")


def type_tensors(gen, rep, h, spec):
    """Draws a representation's tensors (float32) and returns (stored dict of
    file tensors, float64 dict for the math)."""
    kind = rep["intervention_type"]
    k = rep["max_number_of_units"]
    n = h * k
    stored, math_t = {}, {}
    if kind in TYPES_WITH_ROTATION:
        m = rep["low_rank_dimension"] if kind == "LowRankRotatedSpaceIntervention" else n
        mapping = "matrix_exp" if m == n else "householder"
        if spec.get("parametrisation"):
            base = orthogonal(gen, n, n)
            x = torch.zeros(n, m, dtype=D)
            x += torch.randn(n, m, generator=gen, dtype=D).tril(-1) * spec.get("x_scale", 0.3)
            for j in range(m):
                x[j, j] = -1.0
            x = f32(x)
            stored["rotate_layer.parametrizations.weight.original"] = x
            stored["rotate_layer.parametrizations.weight.0.base"] = base
            math_t["X"] = x.to(D)
            math_t["B"] = base.to(D)
            math_t["R"] = materialise(x.to(D), base.to(D), mapping)
        else:
            r = orthogonal(gen, n, m)
            stored["rotate_layer.weight"] = r
            math_t["R"] = r.to(D)
            math_t["X"] = -torch.eye(n, dtype=D)[:, :m]
            math_t["B"] = r.to(D) if m == n else None
        math_t["map"] = mapping
    if kind == "BoundlessRotatedSpaceIntervention":
        b = f32(torch.tensor([spec.get("boundary", 0.5)], dtype=D))
        temp = f32(torch.tensor(spec.get("temperature", 50.0), dtype=D))
        stored["intervention_boundaries"] = b
        stored["temperature"] = temp
        math_t["boundaries"] = b.to(D)
        math_t["temperature"] = temp.to(D)
    if kind in ("SigmoidMaskRotatedSpaceIntervention", "SigmoidMaskIntervention"):
        w = n
        masks = f32(torch.rand(w, generator=gen, dtype=D) * 6 - 3) if spec.get("random_masks") else \
            f32(torch.full((w,), 100.0 if "Rotated" in kind else 0.0, dtype=D))
        temp = f32(torch.tensor(spec.get("temperature", 50.0 if "Rotated" in kind else 0.01), dtype=D))
        stored["masks"] = masks
        stored["temperature"] = temp
        math_t["masks"] = masks.to(D)
        math_t["temperature"] = temp.to(D)
    return stored, math_t


def encode_lists(per_rep):
    return json.dumps(per_rep)


def case_base(outdir, name, description, covers, cfg, params, reps, data, types_field=None):
    d = os.path.join(outdir, name)
    for sub in ("model", "intervention"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    write_json(os.path.join(d, "model", "config.json"), cfg)
    save_safetensors(os.path.join(d, "model", "model.safetensors"), sorted(params.items()), {})
    conf_reps = []
    for r in reps:
        c = {"layer": r["layer"], "component": r["component"], "unit": "pos",
             "max_number_of_units": r["max_number_of_units"],
             "low_rank_dimension": r.get("low_rank_dimension"),
             "subspace_partition": r.get("subspace_partition"),
             "intervention_link_key": r.get("intervention_link_key"), "group_key": r.get("group_key")}
        if types_field == "own":
            c["intervention_type"] = r["intervention_type"]
        conf_reps.append(c)
    config = {"representations": conf_reps}
    if types_field != "own":
        kinds = [r["intervention_type"] for r in reps]
        config["intervention_types"] = kinds[0] if len(set(kinds)) == 1 else kinds
    write_json(os.path.join(d, "intervention", "config.json"), config)
    meta = {}
    if data.get("unit_locations") is not None:
        meta["unit_locations"] = json.dumps({"sources->base": data["unit_locations"]})
    if data.get("subspaces") is not None:
        meta["subspaces"] = json.dumps(data["subspaces"])
    tensors = [("base", f32(data["base"]))]
    for g, s in sorted(data["sources"].items()):
        tensors.append(("source.%d" % g, f32(s)))
    for g, a in sorted(data["active"].items()):
        tensors.append(("active.%d" % g, torch.tensor(a, dtype=torch.int64)))
    if data.get("labels") is not None:
        tensors.append(("labels", torch.tensor(data["labels"], dtype=torch.int64)))
    save_safetensors(os.path.join(d, "data.safetensors"), tensors, meta)
    return d


def eval_expected(cfg, params32, reps, rot, data):
    """float64 forward and gradients from the stored float32 values."""
    params = {k: v.to(D).requires_grad_(True) for k, v in params32.items()}
    leaves = {}
    math = {}
    for i, t in rot.items():
        m = dict(t)
        if "R" in m:
            m["R"] = m["R"].detach().clone().requires_grad_(True)
            leaves["%s.rotate_layer.weight" % key_of(reps, i)] = m["R"]
        if "boundaries" in m:
            m["boundaries"] = m["boundaries"].clone().requires_grad_(True)
            leaves["%s.intervention_boundaries" % key_of(reps, i)] = m["boundaries"]
        if "masks" in m:
            m["masks"] = m["masks"].clone().requires_grad_(True)
            leaves["%s.masks" % key_of(reps, i)] = m["masks"]
        math[i] = m
    d64 = dict(data)
    d64["base"] = data["base"].to(D)
    d64["sources"] = {g: s.to(D) for g, s in data["sources"].items()}
    pre = []
    base_logits, cf, collected = intervenable_forward(cfg, params, reps, math, d64, pre)
    cf.sum().backward()
    out = [("base_logits", f32(base_logits)), ("counterfactual_logits", f32(cf.detach()))]
    for i, c in sorted(collected.items()):
        out.append(("collected.%s" % key_of(reps, i), f32(c.detach())))
    for k in sorted(params):
        g = params[k].grad
        out.append(("grad." + k, f32(g if g is not None else torch.zeros_like(params[k]))))
    for k in sorted(leaves):
        g = leaves[k].grad
        out.append(("grad." + k, f32(g if g is not None else torch.zeros_like(leaves[k]))))
    relu_gap = min(float(p.abs().min()) for p in pre) if pre else 1.0
    return out, base_logits, cf.detach(), relu_gap


def write_eval_case(outdir, name, description, covers, gen, cfg, params, reps, specs, data, types_field=None,
                    expect_effect=True):
    h = cfg["h_dim"]
    stored, rot = {}, {}
    for i, rep in enumerate(reps):
        if owner_of(reps, i) != i:
            continue
        s, m = type_tensors(gen, rep, h, specs.get(i, {}))
        if s:
            stored[i] = s
            rot[i] = m
    d = case_base(outdir, name, description, covers, cfg, params, reps, data, types_field)
    file_tensors = []
    for i in sorted(stored):
        for k, v in sorted(stored[i].items()):
            file_tensors.append(("%s.%s" % (key_of(reps, i), k), v))
    if file_tensors:
        save_safetensors(os.path.join(d, "intervention", "interventions.safetensors"), file_tensors, {})
    out, base_logits, cf, relu_gap = eval_expected(cfg, params, reps, rot, data)
    effect = float((cf - base_logits).abs().max())
    if cfg["activation_function"] == "relu":
        assert relu_gap > 1e-4, (name, relu_gap)
    if expect_effect:
        assert effect > 1e-3, (name, effect)
    save_safetensors(os.path.join(d, "expected.safetensors"), out, {})
    case = {"name": name, "kind": "eval", "description": description, "covers": covers,
            "args": ["eval", "--model", "model", "--intervention", "intervention", "--data", "data.safetensors",
                     "--grad"],
            "expected": "expected.safetensors", "tolerance": TOL,
            "tolerance_rule": "per tensor, elementwise: |got - want| <= abs + rel * max|want| (max over the "
                              "tensor); shapes must match; NaN never matches",
            "shapes": {"batch": data["base"].shape[0], "seq": data["base"].shape[1], "h_dim": h,
                       "n_layer": cfg["n_layer"], "num_classes": cfg["num_classes"]},
            "keys": [key_of(reps, i) for i in range(len(reps))],
            "max_abs_cf_minus_base": round(effect, 6),
            "generator": "tools/gen_intervene_reference.py (float64 from the stored float32 inputs)"}
    if cfg["activation_function"] == "relu":
        case["min_relu_input_distance"] = round(relu_gap, 6)
    write_json(os.path.join(d, "case.json"), case)
    return d, rot, stored


def write_align_case(outdir, name, description, covers, gen, cfg, params, reps, specs, data, optimizer, lr,
                     batch_size, steps, temperature=None):
    """Adam normalises each gradient entry, so a float32 run drifts from the
    float64 reference faster than with SGD: with lr 1e-2 a float32 PyTorch run
    of the Boundless case below is 1e-4 off after 6 steps, with lr 1e-3 1e-6.
    Entries whose exact gradient is zero must stay away too: Adam's first step
    moves them by lr·sign(rounding noise)."""
    d, rot, stored = write_eval_case(outdir, name, description, covers, gen, cfg, params, reps, specs, data)
    B = data["base"].shape[0]
    # trainable leaves: each rotation's X (original), boundaries, masks (float64, from stored float32)
    state = {}
    for i, m in rot.items():
        st = {}
        if "X" in m:
            st["X"] = m["X"].clone().requires_grad_(True)
            st["B"] = m["B"]
            st["map"] = m["map"]
        for key in ("boundaries", "masks"):
            if key in m:
                st[key] = m[key].clone().requires_grad_(True)
        if "temperature" in m:
            st["temperature"] = m["temperature"].clone()
        state[i] = st
    leaves = []
    for i in sorted(state):
        for key in ("X", "boundaries", "masks"):
            if key in state[i]:
                leaves.append(state[i][key])
    opt = torch.optim.SGD(leaves, lr=lr) if optimizer == "sgd" else torch.optim.Adam(leaves, lr=lr)
    params64 = {k: v.to(D) for k, v in params.items()}
    n_batches = (B + batch_size - 1) // batch_size
    losses, accs = [], []
    for step in range(steps):
        if temperature is not None:
            f = step / (steps - 1) if steps > 1 else 0.0
            for i in state:
                if "temperature" in state[i]:
                    state[i]["temperature"] = torch.tensor(temperature[0] + (temperature[1] - temperature[0]) * f,
                                                           dtype=D)
        start = (step % n_batches) * batch_size
        idx = list(range(start, min(B, start + batch_size)))
        sub = {"base": data["base"][idx].to(D),
               "sources": {g: s[idx].to(D) for g, s in data["sources"].items()},
               "active": {g: [a[b] for b in idx] for g, a in data["active"].items()},
               "unit_locations": None if data.get("unit_locations") is None else
               [[None if e is None else [e[b] for b in idx] for e in side] for side in data["unit_locations"]],
               "subspaces": None if data.get("subspaces") is None else
               [None if e is None else [e[b] for b in idx] for e in data["subspaces"]]}
        math = {}
        for i, st in state.items():
            m = {}
            if "X" in st:
                m["R"] = materialise(st["X"], st["B"], st["map"])
            for key in ("boundaries", "masks", "temperature"):
                if key in st:
                    m[key] = st[key]
            math[i] = m
        pre = []
        _, cf, _ = intervenable_forward(cfg, params64, reps, math, sub, pre)
        labels = torch.tensor([data["labels"][b] for b in idx])
        loss = F.cross_entropy(cf, labels)
        if cfg["activation_function"] == "relu":
            assert min(float(p.abs().min()) for p in pre) > 1e-4, name
        losses.append(float(loss))
        accs.append(float((cf.argmax(-1) == labels).double().mean()))
        opt.zero_grad()
        loss.backward()
        opt.step()
    out = [("losses", f32(torch.tensor(losses, dtype=D)))]
    for i, st in sorted(state.items()):
        key = key_of(reps, i)
        if "X" in st:
            base = st["B"]
            if base is None:
                raise ValueError("a tall rotation given as weight only has no reference base")
            out.append(("%s.rotate_layer.weight" % key, f32(materialise(st["X"].detach(), base, st["map"]))))
            out.append(("%s.rotate_layer.parametrizations.weight.original" % key, f32(st["X"].detach())))
            out.append(("%s.rotate_layer.parametrizations.weight.0.base" % key, f32(base)))
        for k2, fname in (("boundaries", "intervention_boundaries"), ("masks", "masks")):
            if k2 in st:
                out.append(("%s.%s" % (key, fname), f32(st[k2].detach())))
        if "temperature" in st:
            out.append(("%s.temperature" % key, f32(st["temperature"].detach())))
    save_safetensors(os.path.join(d, "expected_align.safetensors"), out, {})
    args = ["align", "--model", "model", "--intervention", "intervention", "--data", "data.safetensors",
            "--optimizer", optimizer, "--lr", repr(lr), "--batch-size", str(batch_size), "--steps", str(steps)]
    if temperature is not None:
        args += ["--temperature", "%r:%r" % temperature]
    write_json(os.path.join(d, "align.json"), {"optimizer": optimizer, "lr": lr, "batch_size": batch_size,
                                               "steps": steps, "temperature": temperature, "args": args})
    case = json.load(open(os.path.join(d, "case.json")))
    case.update({"kind": "align", "align_args": args, "align_expected": "expected_align.safetensors",
                 "align_tolerance": ALIGN_TOL, "losses": [round(v, 6) for v in losses],
                 "accuracy": accs,
                 "align_outputs": "losses: the --log CSV's loss column; the other tensors: the --out "
                                  "directory's interventions.safetensors"})
    write_json(os.path.join(d, "case.json"), case)


# ---- the cases ----------------------------------------------------------------------

def rep(layer, component, kind, units=1, partition=None, low_rank=None, link=None, group=None):
    return {"layer": layer, "component": component, "intervention_type": kind, "max_number_of_units": units,
            "subspace_partition": partition, "low_rank_dimension": low_rank, "intervention_link_key": link,
            "group_key": group}


def inputs(gen, b, s, h, scale=1.0):
    return f32(torch.randn(b, s, h, generator=gen, dtype=D) * scale)


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join("tests", "data", "cases")
    os.makedirs(outdir, exist_ok=True)
    torch.set_default_dtype(torch.float64)
    half16 = [[0, 8], [8, 16]]

    gen = torch.Generator().manual_seed(1001)
    cfg, params = make_model(gen, 16, 2, "gelu")
    reps = [rep(1, "block_output", "AdditionIntervention", partition=half16)]
    data = {"base": inputs(gen, 4, 1, 16), "sources": {0: inputs(gen, 4, 1, 16)}, "active": {},
            "subspaces": [[[0], [1], [0, 1], [1]]]}
    write_eval_case(outdir, "addition_h16_mixed",
                    "AdditionIntervention at layer 1 block_output of a 2-layer gelu MLP (h 16), partition "
                    "[[0,8],[8,16]], per-example subspaces [[0],[1],[0,1],[1]]: y_S = x_S + s_S.",
                    ["AdditionIntervention", "per-example subspaces"], gen, cfg, params, reps, {}, data)

    gen = torch.Generator().manual_seed(1002)
    cfg, params = make_model(gen, 8, 2, "tanh")
    reps = [rep(0, "mlp_activation", "SubtractionIntervention")]
    data = {"base": inputs(gen, 4, 1, 8), "sources": {0: inputs(gen, 4, 1, 8)}, "active": {},
            "subspaces": [[[0, 3, 5], [7], [2, 2, 6], [1, 4]]]}
    write_eval_case(outdir, "subtraction_mlp_activation_raw",
                    "SubtractionIntervention at layer 0 mlp_activation (tanh, h 8) with no partition: subspaces "
                    "are raw coordinates, of different lengths per example, one listed twice ([2, 2, 6]: counts "
                    "once).", ["SubtractionIntervention", "mlp_activation", "raw coordinate subspaces",
                               "selections of different sizes", "duplicate coordinate"],
                    gen, cfg, params, reps, {}, data)

    gen = torch.Generator().manual_seed(1003)
    cfg, params = make_model(gen, 8, 2, "gelu")
    reps = [rep(1, "block_input", "ZeroIntervention", partition=[[0, 2], [2, 5], [5, 6, 7]])]
    data = {"base": inputs(gen, 3, 1, 8), "sources": {}, "active": {},
            "subspaces": [[[0], [1, 2], [2]]]}
    write_eval_case(outdir, "zero_block_input_sourceless",
                    "ZeroIntervention at layer 1 block_input with no source in the data file (source-less types "
                    "apply anyway); partition mixes a pair and an explicit index list [5, 6, 7].",
                    ["ZeroIntervention", "block_input", "no source", "explicit index-list partition"],
                    gen, cfg, params, reps, {}, data)

    gen = torch.Generator().manual_seed(1004)
    cfg, params = make_model(gen, 8, 2, "gelu")
    reps = [rep(0, "block_output", "CollectIntervention", partition=[[0, 4], [4, 8]]),
            rep(1, "block_output", "VanillaIntervention", partition=[[0, 4], [4, 8]])]
    data = {"base": inputs(gen, 4, 1, 8), "sources": {1: inputs(gen, 4, 1, 8)}, "active": {},
            "subspaces": [[[0], [1], [1], [0, 1]], [[1], [0], [0, 1], [1]]]}
    write_eval_case(outdir, "collect_and_vanilla_two_groups",
                    "CollectIntervention at layer 0 block_output (group 0, no source: collected = m * x, the model "
                    "continues unchanged) and VanillaIntervention at layer 1 (group 1, source.1). eval --out writes "
                    "collected.<key>.", ["CollectIntervention", "VanillaIntervention", "two groups", "collected values"],
                    gen, cfg, params, reps, {}, data, types_field=None)

    gen = torch.Generator().manual_seed(1005)
    cfg, params = make_model(gen, 8, 2, "gelu")
    reps = [rep(1, "block_output", "SkipIntervention", partition=[[0, 3], [3, 8]])]
    base = inputs(gen, 3, 1, 8)
    data = {"base": base, "sources": {0: base.clone()}, "active": {}, "subspaces": [[[0, 1], [1], [0]]]}
    write_eval_case(outdir, "skip_block_output",
                    "SkipIntervention at layer 1 block_output with source = the base (pyvene's usual use): the "
                    "selected coordinates of block 1's output are replaced by its input (block_input of layer 1).",
                    ["SkipIntervention", "source = base"], gen, cfg, params, reps, {}, data)

    gen = torch.Generator().manual_seed(1006)
    cfg, params = make_model(gen, 16, 2, "gelu")
    reps = [rep(0, "block_output", "BoundlessRotatedSpaceIntervention")]
    data = {"base": inputs(gen, 4, 1, 16), "sources": {0: inputs(gen, 4, 1, 16)}, "active": {},
            "subspaces": [[[5], [6], [7], [8]]]}
    write_eval_case(outdir, "boundless_h16",
                    "BoundlessRotatedSpaceIntervention at layer 0 block_output (R 16x16 as rotate_layer.weight), "
                    "boundary 0.37, temperature 2: m_j = sigmoid(j/T) sigmoid((beta n - j)/T); the data file's "
                    "subspaces are ignored as in pyvene. Gradients of R and of the boundary.",
                    ["BoundlessRotatedSpaceIntervention", "subspaces ignored", "grad of intervention_boundaries"],
                    gen, cfg, params, reps, {0: {"boundary": 0.37, "temperature": 2.0}}, data)

    gen = torch.Generator().manual_seed(1007)
    cfg, params = make_model(gen, 8, 2, "gelu")
    reps = [rep(1, "block_input", "SigmoidMaskRotatedSpaceIntervention")]
    data = {"base": inputs(gen, 4, 1, 8), "sources": {0: inputs(gen, 4, 1, 8)}, "active": {}}
    write_eval_case(outdir, "sigmoid_mask_rotated_h8",
                    "SigmoidMaskRotatedSpaceIntervention at layer 1 block_input, masks drawn in [-3, 3), "
                    "temperature 1.5, R given as the matrix_exp parametrisation: m = sigmoid(masks / T).",
                    ["SigmoidMaskRotatedSpaceIntervention", "grad of masks", "parametrisation"],
                    gen, cfg, params, reps, {0: {"random_masks": True, "temperature": 1.5, "parametrisation": True}},
                    data)

    gen = torch.Generator().manual_seed(1008)
    cfg, params = make_model(gen, 8, 1, "gelu")
    reps = [rep(0, "mlp_activation", "SigmoidMaskIntervention")]
    data = {"base": inputs(gen, 4, 1, 8), "sources": {0: inputs(gen, 4, 1, 8)}, "active": {}}
    write_eval_case(outdir, "sigmoid_mask_h8",
                    "SigmoidMaskIntervention at layer 0 mlp_activation, masks drawn in [-3, 3), temperature 0.5: "
                    "y = (1 - m) x + m s, m = sigmoid(masks / T).",
                    ["SigmoidMaskIntervention", "grad of masks"], gen, cfg, params, reps,
                    {0: {"random_masks": True, "temperature": 0.5}}, data)

    gen = torch.Generator().manual_seed(1009)
    cfg, params = make_model(gen, 16, 3, "relu")
    reps = [rep(0, "block_output", "RotatedSpaceIntervention", partition=half16, group=3),
            rep(1, "block_output", "LowRankRotatedSpaceIntervention", partition=[[0, 2], [2, 4]], low_rank=4, group=3),
            rep(2, "block_input", "VanillaIntervention", group=7)]
    data = {"base": inputs(gen, 5, 1, 16), "sources": {0: inputs(gen, 5, 1, 16)}, "active": {0: [1, 0, 1, 1, 0]},
            "subspaces": [[[0], [1], [0, 1], [1], [0]], [[0], [1], [1], [0, 1], [0]], None]}
    write_eval_case(outdir, "groups_none_active",
                    "Three representations with group_key 3, 3, 7 (groups 0 and 1): RotatedSpace at layer 0 and "
                    "LowRank k=4 (householder, given as its parametrisation) at layer 1 share source.0 with "
                    "active.0 = [1,0,1,1,0]; group 1 has no source (pyvene's None), so the Vanilla at layer 2 "
                    "does not apply. Inactive examples keep the base exactly.",
                    ["group_key", "None source", "per-example active", "householder parametrisation",
                     "LowRankRotatedSpaceIntervention"],
                    gen, cfg, params, reps, {1: {"parametrisation": True}}, data, types_field="own")

    gen = torch.Generator().manual_seed(1010)
    cfg, params = make_model(gen, 8, 2, "gelu")
    reps = [rep(0, "block_output", "RotatedSpaceIntervention", units=2, partition=[[0, 5], [5, 16]]),
            rep(1, "block_input", "VanillaIntervention", units=2, partition=[[0, 4], [4, 8]])]
    data = {"base": inputs(gen, 3, 3, 8), "sources": {0: inputs(gen, 3, 3, 8), 1: inputs(gen, 3, 3, 8)},
            "active": {},
            "unit_locations": [[[[0, 2], [1, 0], [2, 2]], [[2, 1], [0, 1], [1, 2]]],
                               [[[1, 2], [0, 2], [2, 0]], [[0, 1], [2, 0], [1, 0]]]],
            "subspaces": [[[0], [1], [0, 1]], [[1], [0, 1], [0]]]}
    write_eval_case(outdir, "units_s3_k2",
                    "S = 3 positions, max_number_of_units 2: RotatedSpace over the two units concatenated (32-d "
                    "rotation, partition over 16 coordinates) at layer 0 block_output, and Vanilla acting on each "
                    "unit's 8 coordinates at layer 1 block_input; per-example unit locations differ between "
                    "source and base (one source location repeated). Logits are (B, 3, C).",
                    ["max_number_of_units 2", "S > 1", "per-example unit locations", "unit-wise Vanilla"],
                    gen, cfg, params, reps, {}, data)

    gen = torch.Generator().manual_seed(1011)
    cfg, params = make_model(gen, 8, 2, "gelu")
    reps = [rep(0, "block_output", "RotatedSpaceIntervention", partition=[[0, 4], [4, 8]], link=5),
            rep(1, "block_output", "RotatedSpaceIntervention", partition=[[0, 4], [4, 8]], link=5)]
    data = {"base": inputs(gen, 4, 1, 8), "sources": {0: inputs(gen, 4, 1, 8), 1: inputs(gen, 4, 1, 8)},
            "active": {}, "subspaces": [[[0], [1], [0], [1]], [[1], [1], [0], [0, 1]]]}
    write_eval_case(outdir, "linked_two_sites",
                    "Two RotatedSpace representations linked (one shared rotation) at different sites, layer 0 and "
                    "layer 1 block_output, with different sources: each acts on its own site; the gradient of the "
                    "shared R sums both uses and is stored under the first key.",
                    ["linked at different sites", "grad summed under the first key"], gen, cfg, params, reps, {}, data)

    gen = torch.Generator().manual_seed(1012)
    cfg, params = make_model(gen, 8, 1, "gelu")
    reps = [rep(0, "block_output", "BoundlessRotatedSpaceIntervention")]
    data = {"base": inputs(gen, 12, 1, 8, 1.5), "sources": {0: inputs(gen, 12, 1, 8, 1.5)}, "active": {},
            "labels": [int(v) for v in torch.randint(0, 2, (12,), generator=gen)]}
    write_align_case(outdir, "align_adam_boundless_h8",
                     "cvene align with Adam (lr 1e-3, pyvene's DAS setting) on a Boundless intervention (layer 0 block_output, h 8, "
                     "boundary 0.43, rotation as rotate_layer.weight), batch 4, 6 steps wrapping over 12 examples, "
                     "temperature 4 -> 1 linearly; trains the rotation's original and the boundary. (With beta*n an "
                     "integer the mask is symmetric, m_j = m_(beta*n - j), and the gradient of the rotation between "
                     "two such coordinates is exactly zero, which Adam would turn into rounding noise.)",
                     ["cvene align", "Adam", "BoundlessRotatedSpaceIntervention", "--temperature", "wrap-around"],
                     gen, cfg, params, reps, {0: {"boundary": 0.43, "temperature": 50.0}}, data, "adam", 0.001, 4, 6,
                     (4.0, 1.0))

    gen = torch.Generator().manual_seed(1013)
    cfg, params = make_model(gen, 8, 2, "tanh")
    reps = [rep(1, "block_output", "LowRankRotatedSpaceIntervention", partition=[[0, 1], [1, 3]], low_rank=3)]
    data = {"base": inputs(gen, 10, 1, 8, 1.5), "sources": {0: inputs(gen, 10, 1, 8, 1.5)}, "active": {},
            "subspaces": [[[0], [1], [0, 1], [1], [0], [0, 1], [1], [0], [1], [0, 1]]],
            "labels": [int(v) for v in torch.randint(0, 2, (10,), generator=gen)]}
    write_align_case(outdir, "align_sgd_lowrank_householder",
                     "cvene align with SGD (lr 0.5) on a LowRank k=3 intervention (h 8, householder, given as its "
                     "parametrisation with a non-trivial original), per-example subspaces, batch 4 over 10 examples "
                     "(the last batch has 2), 5 steps.",
                     ["cvene align", "SGD", "householder", "last batch smaller", "per-example subspaces"],
                     gen, cfg, params, reps, {0: {"parametrisation": True}}, data, "sgd", 0.5, 4, 5)
    print("torch", torch.__version__, "->", outdir)


if __name__ == "__main__":
    main()
