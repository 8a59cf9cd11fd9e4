"""Regression tests of the security findings S1 (restore as an arbitrary write), S2 (symlink
clobber of the state file) and S3 (pickle in the working directory), each run as root and as a
second, unprivileged user created for the test (skipped where users cannot be created).

Every scenario runs in a child process (``_users.run_as``) against fake kernel trees in a
directory the acting user owns; the victim files lie outside every allowlisted root.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from _system_fakes import make_cgroup_v1, make_rapl, write
from _users import ROOT, User, chown_tree, result, run_as, temp_users

PRELUDE = """
import contextlib, importlib, io, json, os, pickle, zipfile, errno, stat, re, tempfile, signal, atexit
from pathlib import Path
for _m in ("alert.cli", "alert.cli.system", "alert.system.restore", "alert.system.statedir", "alert.safeio",
           "alert.system.guard", "alert.system.rapl", "alert.system.cgroup", "alert.system.roots",
           "alert.system.registry", "alert.system.cpufreq", "alert.system.nvml"):
    try:
        importlib.import_module(_m)
    except ImportError:
        pass
importlib.import_module("alert.cli").build_parser()  # imports every command module
"""


def _dead_pids(n: int) -> list[int]:
    out, pid = [], 4_000_001
    while len(out) < n:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            out.append(pid)
        except OSError:
            pass
        pid += 1
    return out


@pytest.fixture(params=["root", "user"])
def actor(request: pytest.FixtureRequest) -> Iterator[User]:
    if request.param == "root":
        if os.geteuid() != 0:
            pytest.skip("needs root")
        yield ROOT
        return
    with temp_users(1) as (users, _):
        yield users[0]


@pytest.fixture
def base(actor: User) -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="alert-sec-", dir="/tmp"))
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _roots_code(base: Path) -> str:
    return f"""
try:
    from alert.system import restore as _R
    from alert.system.roots import SystemRoots
    _R.ROOTS = SystemRoots(powercap=Path({str(base / 'pc')!r}), powercap_devices=Path({str(base / 'pc')!r}),
                           cgroup=Path({str(base / 'cg')!r}), proc=Path({str(base / 'proc')!r}))
except ImportError:
    pass  # before the allowlist existed
"""


def _restore_cli(state: Path) -> str:
    return f"""
out = io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
    from alert.cli import main
    try:
        rc = main(["restore", "--state-dir", {str(state)!r}])
    except Exception as e:  # a traceback: reported as such, after the effects are checked
        import traceback
        traceback.print_exc()
        rc = "Traceback"
"""


def _limit(z: Path) -> str:
    return (z / "constraint_0_power_limit_uw").read_text().strip()


# ============================================================================ S1
def _plant_s1(base: Path, state: Path) -> tuple[Path, Path, Path, list[int]]:
    zone = make_rapl(base / "pc")
    write(zone / "constraint_0_power_limit_uw", 5_000_000)  # left at 5 W by a killed run
    make_cgroup_v1(base / "cg", base / "proc", 1)
    victim = write(base / "victim" / "constraint_0_power_limit_uw", 42)
    write(base / "victim" / "name", "package-0")
    empty = base / "cg-victim"
    empty.mkdir()
    state.mkdir(mode=0o700, exist_ok=True)
    pids = _dead_pids(4)
    docs = [
        {"pid": pids[0], "knobs": [{"kind": "rapl", "zone": str(victim.parent),
                                    "files": {"constraint_0_power_limit_uw": 1337}}]},
        {"pid": pids[1], "knobs": [{"kind": "cgroup", "version": "v1", "mount": str(base / "cg" / "cpu"),
                                    "path": str(empty), "origins": {"1": "../../.."}}]},
        None,  # malformed
        {"pid": pids[3], "knobs": [{"kind": "rapl", "zone": str(zone),
                                    "files": {"constraint_0_power_limit_uw": 15_000_000}}]},
    ]
    for pid, doc in zip(pids, docs, strict=True):
        (state / f"state-{pid}.json").write_text("{not json" if doc is None else json.dumps(doc))
    return zone, victim, empty, pids


def test_s1_planted_state_file_cannot_write_outside_the_allowlist(actor: User, base: Path) -> None:
    state = base / "state"
    zone, victim, empty, pids = _plant_s1(base, state)
    for p in state.iterdir():
        p.chmod(0o600)
    chown_tree(base, actor)
    proc = run_as(actor, _roots_code(base) + _restore_cli(state) + """
print(json.dumps({"rc": rc, "out": out.getvalue()}))
""", PRELUDE)
    r = result(proc)
    assert victim.read_text().strip() == "42", "restore wrote into a file outside the powercap root"
    assert empty.is_dir(), "restore removed a directory that is not an alert cgroup"
    assert _limit(zone) == "15000000", "the valid state file after the bad ones was not restored"
    lines = r["out"].strip().splitlines()
    assert len(lines) == 4 and "Traceback" not in r["out"], r["out"]
    assert r["rc"] == 1
    by_pid = {pid: next(ln for ln in lines if f"(pid {pid})" in ln or f"state-{pid}" in ln) for pid in pids}
    assert "refused" in by_pid[pids[2]] or "not valid JSON" in by_pid[pids[2]]
    assert "restored" in by_pid[pids[3]] and not (state / f"state-{pids[3]}.json").exists()
    for pid in pids[:2]:
        assert "failed" in by_pid[pid] and (state / f"state-{pid}.json").exists()


@pytest.mark.parametrize("how", ["world-writable", "other owner"])
def test_s1_untrusted_state_directory_is_refused(actor: User, base: Path, how: str) -> None:
    state = base / "state"
    zone, victim, empty, pids = _plant_s1(base, state)
    chown_tree(base, actor)
    if how == "world-writable":
        state.chmod(0o777)
    else:
        os.chown(state, 0 if actor.uid != 0 else 65534, -1)
    proc = run_as(actor, _roots_code(base) + _restore_cli(state) + """
print(json.dumps({"rc": rc, "out": out.getvalue()}))
""", PRELUDE)
    r = result(proc)
    assert victim.read_text().strip() == "42" and empty.is_dir() and _limit(zone) == "5000000"
    assert r["rc"] == 1 and "Traceback" not in r["out"]
    assert len(r["out"].strip().splitlines()) == 1 and "Fix:" in r["out"], r["out"]


# ============================================================================ S2
def _plant_links(zone: Path, state: Path) -> str:
    """Links at this process's state paths (the pid is predictable) to a victim file."""
    return f"""
for _n in (f"state-{{os.getpid()}}.tmp", f".state-{{os.getpid()}}.tmp", f"state-{{os.getpid()}}.json"):
    os.symlink({str(zone.parent.parent / 'victim.txt')!r}, Path({str(state)!r}) / _n)
"""


def _guard_run(zone: Path, state: Path) -> str:
    return f"""
from alert.system.guard import KnobGuard
from alert.system.rapl import RaplPowerCap
state = Path({str(state)!r})
k = RaplPowerCap({str(zone)!r})
try:
    with KnobGuard([k], state):
        k.apply(9.0)
    outcome = "ran"
except Exception as e:
    outcome = "refused: " + str(e)
print(json.dumps({{"outcome": outcome}}))
"""


def test_s2_planted_symlink_at_the_state_path(actor: User, base: Path) -> None:
    zone = make_rapl(base / "pc")
    victim = write(base / "victim.txt", "precious")
    state = base / "state"
    state.mkdir(mode=0o700)
    chown_tree(base, actor)
    proc = run_as(actor, _plant_links(zone, state) + _guard_run(zone, state), PRELUDE)
    result(proc)
    assert victim.read_text().strip() == "precious", "the state file was written through a planted link"
    assert _limit(zone) == "15000000"
    assert "Traceback" not in proc.stderr, proc.stderr


@pytest.mark.parametrize("mode", [0o777, 0o1777])
def test_s2_shared_state_directory_is_refused(actor: User, base: Path, mode: int) -> None:
    """A directory others can write (or a sticky /tmp-like one owned by someone else) is never used."""
    zone = make_rapl(base / "pc")
    victim = write(base / "victim.txt", "precious")
    state = base / "state"
    state.mkdir()
    chown_tree(base, actor)
    if mode == 0o1777:
        os.chown(state, 0 if actor.uid != 0 else 65534, -1)
    state.chmod(mode)
    # links planted (as root, before the child drops to the actor) at the child's state paths by
    # whoever else can write the directory
    proc = run_as(actor, _guard_run(zone, state), PRELUDE + _plant_links(zone, state))
    r = result(proc)
    assert victim.read_text().strip() == "precious"
    assert r["outcome"].startswith("refused") and "Fix:" in r["outcome"], r
    assert _limit(zone) == "15000000"


def test_state_files_are_private_and_root_never_uses_a_temp_dir(tmp_path: Path) -> None:
    from alert.system.guard import KnobGuard
    from alert.system.rapl import RaplPowerCap
    from alert.system.statedir import default_state_dir

    if os.geteuid() == 0:
        assert default_state_dir() == Path("/run/alert")
    else:
        assert str(os.geteuid()) in str(default_state_dir())
    old = os.umask(0)
    try:
        zone = make_rapl(tmp_path / "pc")
        k = RaplPowerCap(zone)
        with KnobGuard([k], tmp_path / "state") as g:
            assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700
            assert stat.S_IMODE(g.state_file.stat().st_mode) == 0o600
            assert not g.state_file.is_symlink()
            k.apply(9.0)
    finally:
        os.umask(old)
    assert list((tmp_path / "state").iterdir()) == []


# ============================================================================ S3
def _evil(marker: Path) -> object:
    class Evil:
        def __reduce__(self):  # runs on unpickling
            return (open, (str(marker), "w"))
    return {"format": "alert-weights", "model": "depth-nested", "evil": Evil()}


def test_s3_planted_pickle_in_the_working_directory(actor: User, base: Path) -> None:
    torch = pytest.importorskip("torch")
    for name in ("depth-nested-osgd", "depth-nested-osgd.pt", "ptb-lstm-32", "ptb-lstm-32.pt", "evil.pt"):
        torch.save(_evil(base / f"pwned-{name}"), base / name)
    chown_tree(base, actor)
    proc = run_as(actor, """
import torch
from alert.nn.export import WEIGHTS_DIR, resolve_weights
from alert.nn.train import load_weights
from alert.nlp.runtime import load_family
try:
    p = resolve_weights("depth-nested-osgd", WEIGHTS_DIR)
    model, info = load_weights(p)
    fam = load_family(["ptb-lstm-32"])
except Exception as e:
    p, info, fam = "", {"model": repr(e)}, []
errors = []
for f in ("./evil.pt", "evil.pt", "./depth-nested-osgd"):
    try:
        load_weights(f)
        errors.append("loaded " + f)
    except Exception as e:
        errors.append(type(e).__name__ + ": " + str(e).splitlines()[0])
print(json.dumps({"resolved": str(p), "model": info.get("model"), "family": sorted(fam), "errors": errors}))
""", PRELUDE + "\nimport torch, numpy\nimport alert.nn.export, alert.nn.train, alert.nlp.runtime, alert.nlp.train\n",
        cwd=str(base))
    r = result(proc)
    assert not list(base.glob("pwned-*")), f"a planted pickle ran: {sorted(x.name for x in base.glob('pwned-*'))}"
    assert r["resolved"].startswith(str(Path(r["resolved"]).parent)) and "data/weights" in r["resolved"]
    assert r["model"] == "depth-nested" and r["family"] == ["ptb-lstm-32"]
    assert all(e.startswith(("InputError", "ValueError")) and "without running code" in e for e in r["errors"]), r
