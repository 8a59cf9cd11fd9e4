#!/usr/bin/env python3
"""Make the metadata of the shipped profiles, traces and fidelity documents portable.

Files recorded before ``alert.provenance`` existed hold the absolute path of the machine that
made them (``/work/main/src/alert/cli.py profile ...``, ``/tmp/gpu/profile-block.json``), a
platform string with the machine, the processor and the CPU count run together (``x86_642
CPUs``), and ``NaN`` in JSON. This rewrites, in place and touching nothing else (every array of a
trace is written back unchanged):

- ``command`` values: the program as ``alert``, paths inside a checkout relative to it
  (``examples/...``), other absolute paths as ``.../NAME``;
- ``profile`` values (a path): the same;
- ``platform`` values: ``x86_64, 2 CPUs, torch 2.13.0+cpu``;
- JSON documents (fidelity.json): strict, with null and a ``<key>_reason`` for NaN.

Usage: python scripts/portable_metadata.py [FILE ...]   (default: the examples the package ships)
``tests/test_packaging.py`` fails while a shipped file still needs it.
"""

from __future__ import annotations

import io
import json
import re
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from alert import strictjson  # noqa: E402
from alert.cli.evaluation import FIDELITY_REASONS  # noqa: E402
from alert.provenance import command_line, normalize_platform  # noqa: E402

IN_CHECKOUT = re.compile(r"^/\S*?/((?:examples|src)/\S*)$")


def path_text(token: str) -> str:
    """One token of a command (or a path value), made portable."""
    prefix, sep, rest = token.partition("=")
    if sep and rest.startswith("/"):
        return f"{prefix}={path_text(rest)}"
    if not token.startswith("/"):
        return token
    m = IN_CHECKOUT.match(token)
    if m:
        return m.group(1)
    return f".../{Path(token.split(':')[0]).name}" + (f":{token.split(':', 1)[1]}" if ":" in token else "")


def fix(obj: Any) -> Any:
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if k == "command" and isinstance(v, str):
                tokens = v.split(" ")
                v = command_line([tokens[0]] + [path_text(t) for t in tokens[1:]]) if v.startswith("/") else \
                    " ".join(path_text(t) for t in tokens)
            elif k == "profile" and isinstance(v, str):
                v = path_text(v)
            elif k == "platform" and isinstance(v, str):
                v = normalize_platform(v)
            else:
                v = fix(v)
            out[k] = v
        return out
    if isinstance(obj, list):
        return [fix(v) for v in obj]
    return obj


def fix_json(path: Path) -> bool:
    text = path.read_text()
    doc = json.loads(text)
    new = strictjson.dumps(fix(doc), FIDELITY_REASONS, indent=1) + "\n"
    if new != text:
        path.write_text(new)
        return True
    return False


def fix_npz(path: Path) -> bool:
    with zipfile.ZipFile(path) as z:
        compressed = any(i.compress_type != zipfile.ZIP_STORED for i in z.infolist())
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    header = json.loads(str(arrays["header"]))
    fixed = fix(header)
    if fixed == header:
        return False
    arrays["header"] = np.array(json.dumps(fixed))
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    path.write_bytes(buf.getvalue())
    with np.load(path, allow_pickle=False) as check:  # every array is the one it replaced
        for k, v in arrays.items():
            if k != "header":
                assert np.array_equal(check[k], v, equal_nan=v.dtype.kind == "f"), (path, k)
    return True


def shipped() -> list[Path]:
    ex = ROOT / "examples"
    files = [ex / f"{n}.json" for n in ("laptop-cpu", "gpu-small", "cpu-quota")] + [ex / "cpu-quota-trace.npz"]
    for plat in ("measured-cpu", "measured-gpu", "measured-cpu-drift"):
        d = ex / plat
        files += [d / f for f in ("profile.json", "profile-block.json", "fidelity.json")]
        files += [d / f"{w}.npz" for w in ("default", "memory", "compute", "quiet")]
    return [f for f in files if f.is_file()]


def main(argv: list[str]) -> int:
    files = [Path(a) for a in argv] or shipped()
    for f in files:
        changed = fix_npz(f) if f.suffix == ".npz" else fix_json(f)
        print(f"{'rewrote' if changed else 'kept   '} {f.relative_to(ROOT) if f.is_relative_to(ROOT) else f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
