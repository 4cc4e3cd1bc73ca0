#!/usr/bin/env python3
"""Seed corpora for the fuzz harnesses, built from the files in tests/data.

    python3 tests/fuzz/make_corpus.py OUTDIR

writes OUTDIR/<target>/ for every harness (safetensors, json, datafile,
roundtrip), one file per seed named by its content's hash, so running it
again adds nothing twice. Nothing here is kept in git: the seeds are copies
of, or pieces cut from, the reference files (the JSON header and metadata
strings of every safetensors file, every config.json and case.json)."""
import hashlib
import json
import os
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "tests", "data")


def put(outdir, target, content):
    d = os.path.join(outdir, target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(content).hexdigest()
    path = os.path.join(d, name)
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(content)


def safetensors_pieces(content):
    """The header JSON and the metadata values of a safetensors file."""
    if len(content) < 8:
        return []
    n = struct.unpack("<Q", content[:8])[0]
    header = content[8:8 + n]
    pieces = [header]
    try:
        meta = json.loads(header).get("__metadata__") or {}
        pieces += [v.encode() for v in meta.values() if isinstance(v, str)]
    except ValueError:
        pass
    return pieces


def linked_copies(content):
    """An interventions.safetensors with every tensor of key #0 also stored
    under key #1, as pyvene's save writes linked interventions (the reader
    compares such copies with the first key's)."""
    if len(content) < 8:
        return None
    n = struct.unpack("<Q", content[:8])[0]
    try:
        header = json.loads(content[8:8 + n])
    except ValueError:
        return None
    data = content[8 + n:]
    out, chunks, offset = {}, [], 0
    for name, info in header.items():
        if name == "__metadata__":
            out[name] = info
            continue
        begin, end = info["data_offsets"]
        for key in (name, name.replace("#0.", "#1.", 1)) if "#0." in name else (name,):
            out[key] = dict(info, data_offsets=[offset, offset + end - begin])
            chunks.append(data[begin:end])
            offset += end - begin
    text = json.dumps(out, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_corpus.py OUTDIR")
    outdir = sys.argv[1]
    counts = {}
    for dirpath, _, files in sorted(os.walk(DATA)):
        for fname in sorted(files):
            path = os.path.join(dirpath, fname)
            with open(path, "rb") as f:
                content = f.read()
            if fname.endswith(".safetensors"):
                put(outdir, "safetensors", content)
                if fname == "interventions.safetensors":
                    linked = linked_copies(content)
                    if linked:
                        put(outdir, "safetensors", linked)
                put(outdir, "roundtrip", b"\x00" + content)
                if fname == "data.safetensors":
                    put(outdir, "datafile", content)
                for piece in safetensors_pieces(content):
                    put(outdir, "json", piece)
                    put(outdir, "roundtrip", b"\x01" + piece)
            elif fname.endswith(".json"):
                put(outdir, "json", content)
                put(outdir, "roundtrip", b"\x01" + content)
                if fname == "config.json":
                    kind = b"\x02" if os.path.basename(dirpath) == "model" else b"\x03"
                    put(outdir, "roundtrip", kind + content)
    for target in ("safetensors", "json", "datafile", "roundtrip"):
        d = os.path.join(outdir, target)
        counts[target] = len(os.listdir(d)) if os.path.isdir(d) else 0
    print("seeds: " + ", ".join(f"{t} {n}" for t, n in counts.items()))


if __name__ == "__main__":
    main()
