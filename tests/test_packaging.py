"""Packaging: the data the package reads is declared as package data, found through
``alert.resources`` from any directory, and kept as one copy (the package links into examples/).

The full check (build the wheel, install it in a clean venv, run it from an empty folder) is
``scripts/check_wheel.sh``, run by ``.ci/run``."""

from __future__ import annotations

import json
import re
import sys
from fnmatch import fnmatchcase
from pathlib import Path

import numpy as np
import pytest

from alert import resources, strictjson
from alert.cli import main
from alert.cli.evaluation import packaged_platforms, report_with_notes
from alert.evaluation.measured import workload_names
from alert.profile import Profile, ProfileError
from alert.provenance import command_line, normalize_platform, platform_string

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "src" / "alert"

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")


def package_data_globs() -> list[str]:
    doc = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return doc["tool"]["setuptools"]["package-data"]["alert"]


def recorded_platforms() -> list[str]:
    """The platforms of resources.PLATFORMS recorded in this tree (a profile.json; a platform may
    be listed before its recording is committed)."""
    return [p for p in resources.PLATFORMS if (PKG / "data" / "platforms" / p / "profile.json").is_file()]


def shipped(rel: str) -> bool:
    """Whether a file at ``rel`` (relative to src/alert) goes into the wheel (setuptools globs:
    ``*`` never crosses a ``/``)."""
    parts = rel.split("/")
    return any(len(g.split("/")) == len(parts) and all(fnmatchcase(p, q) for p, q in zip(parts, g.split("/"), strict=True))
               for g in package_data_globs())


def test_every_file_read_through_resources_is_package_data():
    needed = [f"data/profiles/{n}.json" for n in ("laptop-cpu", "gpu-small", "cpu-quota")]
    for plat in recorded_platforms():
        folder = PKG / "data" / "platforms" / plat
        traces = [f.name for ext in ("npz", "csv") for w in workload_names(folder)
                  if (f := folder / f"{w}.{ext}").is_file()]
        needed += [f"data/platforms/{plat}/{f}" for f in ["profile.json", *traces]]
        if (folder / "fidelity.json").is_file():
            needed.append(f"data/platforms/{plat}/fidelity.json")
    assert {"default.npz", "memory.npz", "compute.npz"} <= {Path(n).name for n in needed
                                                            if "/measured-cpu/" in n}
    needed += [f"nlp/traces/{w}.npz" for w in ("default", "memory", "compute")]
    needed += [f.relative_to(PKG).as_posix() for f in (PKG / "data" / "weights").iterdir()]
    needed += [f"data/runs/{name}" for _, name in resources.LIVE_RUNS if (PKG / "data" / "runs" / name).exists()]
    assert any("data/runs/" in n for n in needed), "the report's live runs (Figure 13) are not packaged"
    for rel in needed:
        assert (PKG / rel).is_file(), f"{rel} is missing from the source tree"
        assert shipped(rel), f"{rel} is not matched by pyproject's package-data"
    # and the scripts and live logs that recorded a platform are not shipped
    assert not shipped("data/platforms/measured-cpu/record.sh")
    assert not shipped("data/platforms/measured-cpu/live/default-0.csv.gz")


def test_package_data_is_one_copy_linked_to_examples():
    for name in ("laptop-cpu", "gpu-small", "cpu-quota"):
        link = PKG / "data" / "profiles" / f"{name}.json"
        assert link.is_symlink() and link.resolve() == (ROOT / "examples" / f"{name}.json").resolve()
    for plat in resources.PLATFORMS:
        link = PKG / "data" / "platforms" / plat
        assert link.is_symlink() and link.resolve() == (ROOT / "examples" / plat).resolve()


def test_resources_find_the_package_data():
    assert resources.package_root().resolve() == PKG.resolve()
    assert set(resources.profile_names()) >= {"laptop-cpu", "gpu-small", "cpu-quota"}
    assert {"measured-cpu", "measured-gpu"} <= set(recorded_platforms())
    for plat in recorded_platforms():
        assert (resources.platform_dir(plat) / "profile.json").is_file()
    assert resources.profile_path("laptop-cpu.json") == resources.profile_path("laptop-cpu")


def test_resolve_profile_prefers_a_file_then_a_packaged_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resources.resolve_profile("laptop-cpu") == resources.profile_path("laptop-cpu")
    own = tmp_path / "laptop-cpu.json"
    own.write_text((ROOT / "examples" / "gpu-small.json").read_text())
    assert resources.resolve_profile("laptop-cpu.json") == Path("laptop-cpu.json")  # the file here wins
    with pytest.raises(ProfileError) as e:
        resources.resolve_profile("no-such-profile")
    assert "cpu-quota, gpu-small, laptop-cpu" in str(e.value)
    with pytest.raises(ProfileError):
        resources.resolve_profile("sub/laptop-cpu")  # a path is never looked up in the package


def test_decide_takes_a_packaged_profile_name_from_any_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["decide", "laptop-cpu", "--goal", "min-energy:deadline=0.2,accuracy=0.88", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    expected = Profile.load(ROOT / "examples" / "laptop-cpu.json")
    assert doc["model"] in {m.name for m in expected.models}


def test_portable_path_names_package_data_the_same_from_any_install(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resources.portable_path(resources.platform_dir("measured-cpu")) == "alert/data/platforms/measured-cpu"
    assert resources.portable_path(tmp_path / "x" / "y.json") == "x/y.json"
    assert resources.portable_path("examples/measured-cpu") == "examples/measured-cpu"
    assert resources.portable_path("/elsewhere/z") == "/elsewhere/z"


def test_missing_packaged_platform_is_named_in_the_report(tmp_path, monkeypatch):
    plats = tmp_path / "data" / "platforms"
    for name in ("measured-cpu", "measured-cpu-drift"):
        (plats / name).mkdir(parents=True)
        (plats / name / "profile.json").write_text("{}")
    (plats / "measured-cpu" / "default.npz").write_bytes(b"")
    (plats / "measured-cpu-drift" / "quiet.npz").write_bytes(b"")  # not a workload
    monkeypatch.setattr(resources, "package_root", lambda: tmp_path)
    folders, notes = packaged_platforms()
    assert folders == [plats / "measured-cpu"]
    assert len(notes) == 2
    assert "`measured-gpu`" in notes[0] and "no alert/data/platforms/measured-gpu/profile.json" in notes[0]
    assert "`measured-cpu-drift`" in notes[1] and "no recorded workload trace" in notes[1]
    text = report_with_notes("# Title\n\nbody\n", notes)
    lines = text.splitlines()
    assert lines[0] == "# Title" and "**Not in this report:**" in lines[:4]
    assert f"- {notes[0]}" in lines and text.endswith("body\n")
    assert report_with_notes("# T\nx", []) == "# T\nx"


# ------------------------------------------------------------------ portable metadata
ABSOLUTE = re.compile(r"(?<![\w.])/(?:work|tmp|root|home|usr|opt|var|mnt|Users)/")


def strings(obj, key=""):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from strings(v, k)
    elif isinstance(obj, list):
        for v in obj:
            yield from strings(v, key)
    elif isinstance(obj, str):
        yield key, obj


def shipped_documents():
    """(file, parsed document) of every JSON file and trace header the wheel ships."""
    for pattern in package_data_globs():
        for f in sorted(PKG.glob(pattern)):
            if f.suffix == ".json":
                yield f, strictjson.loads(f.read_text())  # strict: no NaN in shipped JSON either
            elif f.suffix == ".npz":
                with np.load(f, allow_pickle=False) as z:
                    yield f, json.loads(str(z["header"]))


def test_shipped_metadata_is_portable():
    seen = 0
    for f, doc in shipped_documents():
        for key, text in strings(doc):
            seen += 1
            assert not ABSOLUTE.search(text), f"{f.relative_to(PKG)}: {key} holds an absolute path: {text[:120]}"
            if key == "platform" and "CPUs" in text:
                assert normalize_platform(text) == text and re.match(r"^\w+, \d+ CPUs", text), (f, text)
            if key == "command":
                assert text.startswith("alert "), (f, text)
    assert seen > 100


def test_provenance_strings():
    assert normalize_platform("x86_642 CPUs, torch 2.13.0+cpu") == "x86_64, 2 CPUs, torch 2.13.0+cpu"
    assert normalize_platform("x86_64 x86_6416 CPUs, torch 2.11.0+cu130") == "x86_64, 16 CPUs, torch 2.11.0+cu130"
    assert normalize_platform("aarch64 4 CPUs") == "aarch64, 4 CPUs"
    assert normalize_platform("laptop CPU, RAPL package cap") == "laptop CPU, RAPL package cap"
    assert platform_string("2.13.0+cpu", cpus=2, machine="x86_64") == "x86_64, 2 CPUs, torch 2.13.0+cpu"
    assert platform_string(None, cpus=8, machine="arm64") == "arm64, 8 CPUs"
    here = Path.cwd()
    assert command_line(["/usr/bin/alert", "profile", "--out", str(here / "a" / "p.json"), "--models",
                         "/elsewhere/m.py:build", f"--x={here}/b.json", "10 W/core"]) == \
        "alert profile --out a/p.json --models .../m.py:build --x=b.json 10 W/core"
