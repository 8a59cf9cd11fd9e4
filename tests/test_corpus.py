"""Every case of the malformed-input corpus (tests/corpus/manifest.json, written by
tests/corpus/make_corpus.py) through the CLI and through the API.

A CLI case must end in a non-zero exit with exactly one line of output and no traceback; an
API case in the project's own error (one line) or, for a documented acceptance (docs/system.md,
*Bad input*), in a counted rejection. Every case runs under a 30 s alarm: a hang fails it. The
CLI runs in-process (``alert.cli.main``); a few cases also run as a real ``python -m alert``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CORPUS = HERE / "corpus"
MANIFEST = json.loads((CORPUS / "manifest.json").read_text())
CASES = MANIFEST["cases"]
TIMEOUT_S = 30


class Hang(Exception):
    pass


@contextlib.contextmanager
def alarm(seconds: int) -> Iterator[None]:
    def fire(signum: int, frame: Any) -> None:
        raise Hang(f"no answer within {seconds} s")

    old = signal.signal(signal.SIGALRM, fire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def decode(v: Any) -> Any:
    """JSON stand-ins for values JSON cannot hold: {"$float": "nan"}, {"$complex": [re, im]}, {"$int": "..."}."""
    if isinstance(v, dict):
        if "$float" in v:
            return float(v["$float"])
        if "$complex" in v:
            return complex(*v["$complex"])
        if "$int" in v:
            return int(v["$int"])
        return {k: decode(x) for k, x in v.items()}
    return v


def prepare(case: dict[str, Any], tmp: Path) -> tuple[Path | None, Path | None]:
    """Copy the case's file (or state directory) into ``tmp`` and apply its setup; (file, dir)."""
    rel = case["file"]
    if rel is None:
        return None, None
    src = CORPUS / "cases" / rel
    setup = case["setup"] or ""
    if case["api"] and case["api"]["fn"] == "restore" or (case["cli"] and case["cli"][0] == "restore"):
        d = tmp / "state"
        shutil.copytree(src.parent, d)
        os.chmod(d, 0o700)
        for f in d.iterdir():
            os.chmod(f, 0o600)
        (d / ".keep").unlink(missing_ok=True)
        f = d / src.name
        if setup == "statelink":
            other = tmp / "elsewhere.json"
            other.write_text(json.dumps({"pid": 4194999, "knobs": []}))
            f.symlink_to(other)
        elif setup == "statefifo":
            os.mkfifo(f, 0o600)
        elif setup == "statehuge":
            with open(f, "ab") as fh:
                fh.truncate(2 << 20)
        elif setup == "stategroupw":
            os.chmod(f, 0o664)
        elif setup == "dirworldw":
            os.chmod(d, 0o777)
        elif setup == "dirisfile":
            shutil.rmtree(d)
            d.write_text("not a directory")
        elif setup == "dirlink":
            real = tmp / "real-state"
            d.rename(real)
            d.symlink_to(real)
        return f, d
    f = tmp / Path(rel).name
    if setup == "missing":
        pass
    elif setup == "dir":
        f.mkdir()
    elif setup == "fifo":
        os.mkfifo(f)
    elif setup == "chardev":
        f = Path("/dev/zero")
    elif setup.startswith("sparse:"):
        with open(f, "wb") as fh:
            fh.truncate(int(setup.split(":")[1]))
    elif setup == "linkloop":
        f.symlink_to(f)
    else:
        shutil.copy(src, f)
    return f, None


def substitute(argv: list[str], f: Path | None, d: Path | None, tmp: Path) -> list[str]:
    subs = {"{file}": str(f), "{dir}": str(d), "{tmp}": str(tmp), "{laptop}": str(ROOT / "examples" / "laptop-cpu.json"),
            "{cpuq}": str(ROOT / "examples" / "cpu-quota.json")}
    out = []
    for a in argv:
        for k, v in subs.items():
            a = a.replace(k, v)
        out.append(a)
    return out


def run_cli(argv: list[str]) -> tuple[Any, str]:
    """(exit code, or 'traceback'/'hang'; combined output) of ``alert ARGV`` in this process."""
    from alert.cli import main

    out = io.StringIO()
    code: Any
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            with alarm(TIMEOUT_S):
                code = main(argv)
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        except Hang:
            code = "hang"
        except BaseException:
            traceback.print_exc()
            code = "traceback"
    return code, out.getvalue()


# ============================================================================ API calls
def _controller() -> Any:
    from alert.controller import Controller
    from alert.goals import parse_goal
    from alert.profile import Profile

    p = Profile.load(ROOT / "examples" / "laptop-cpu.json")
    ctl = Controller(p, parse_goal("min-energy:deadline=0.1,accuracy=0.8"))
    ctl.decide()
    return ctl


def _counted(ctl: Any) -> int:
    s = ctl.stats
    return s.latency_rejected + s.energy_rejected + s.idle_rejected + ctl.estimator.guard.rejected


def run_api(case: dict[str, Any], f: Path | None, d: Path | None) -> tuple[str, str]:
    """('error', message) or ('accept', what was counted); anything else raises."""
    api = decode(case["api"])
    fn = api["fn"]
    project_errors: tuple[type[BaseException], ...]
    from alert.evaluation.traces import TraceError
    from alert.goals import GoalError
    from alert.profile import ProfileError
    from alert.safeio import InputError
    from alert.system.errors import SystemLayerError

    project_errors = (ProfileError, TraceError, GoalError, InputError, SystemLayerError, FileNotFoundError)
    try:
        with alarm(TIMEOUT_S):
            if fn == "profile_load":
                from alert.profile import Profile

                Profile.load(f)  # type: ignore[arg-type]
            elif fn == "trace_load":
                from alert.evaluation.traces import Trace

                Trace.load(f)  # type: ignore[arg-type]
            elif fn == "parse_goal":
                from alert.goals import parse_goal

                parse_goal(api["text"])
            elif fn == "restore":
                from alert.system.restore import restore_all

                res = restore_all(d)  # type: ignore[arg-type]
                bad = [r for r in res if not r.ok]
                if res and len(bad) == len(res):
                    return "error", "; ".join(r.action for r in bad)
                return "accept", f"restore results {[r.action for r in res]}"
            elif fn == "observe":
                ctl = _controller()
                before = _counted(ctl)
                ctl.observe(**api["kwargs"])
                if _counted(ctl) > before:
                    return "accept", "counted as rejected"
                return "accept-silent", "nothing counted"
            elif fn == "set_goal":
                _controller().set_goal(api["value"])
            elif fn == "controller_goal":
                from alert.controller import Controller
                from alert.profile import Profile

                Controller(Profile.load(ROOT / "examples" / "laptop-cpu.json"), "min-energy:deadline=0.1")  # type: ignore[arg-type]
            elif fn == "cgroup_period":
                from alert.system.cgroup import CgroupConfig

                CgroupConfig(period_us=api["value"])
            elif fn == "cpu_time_meter":
                from alert.system.meters import CpuTimeMeter

                CpuTimeMeter(api["w"], api["idle"])
            elif fn == "runtime_meter":
                return _runtime_meter(float(api["value"]))
            elif fn == "load_weights":
                from alert.nn.train import load_weights

                load_weights(f)  # type: ignore[arg-type]
            elif fn == "make_knob":
                from alert.system.registry import make_knob

                make_knob(api["name"])
            elif fn == "make_meter":
                from alert.system.registry import make_meter

                make_meter(api["name"])
            else:
                raise AssertionError(f"unknown api {fn}")
    except (TypeError, ValueError, *project_errors) as e:
        return "error", f"{type(e).__name__}: {e}"
    return "accept-silent", "returned normally"


def _runtime_meter(value: float) -> tuple[str, str]:
    import warnings

    from alert.runtime import RunOutput, Runtime
    from alert.system.base import EnergyReading, Meter
    from alert.system.simulated import SimulatedKnob

    class Bad(Meter):
        method = "bad"

        def start(self) -> None:
            pass

        def stop(self) -> EnergyReading:
            return EnergyReading(value, 0.01, self.method)

    ctl = _controller()
    knob = SimulatedKnob([s.value for s in ctl.profile.settings], unit=ctl.profile.unit)
    runners = {m.name: (lambda x, stage, deadline, ends=None: RunOutput(None, stage if stage else None))
               for m in ctl.profile.models}
    rt = Runtime(ctl, knob, Bad(), runners)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        for _ in range(3):
            rt.step(0)
    warned = [x for x in w if "not a finite energy" in str(x.message)]
    assert len(warned) == 1, "warned once"
    assert rt.meter_rejected == 3
    return "accept", f"counted {rt.meter_rejected}, warned once"


# ============================================================================ the tests
def _ids(kind: str) -> list[str]:
    return [c["id"] for c in CASES if c[kind] is not None]


BY_ID = {c["id"]: c for c in CASES}


def test_corpus_has_enough_cases() -> None:
    assert len(CASES) >= 150
    assert len({c["id"] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("cid", _ids("cli"))
def test_cli_case(cid: str, tmp_path: Path) -> None:
    case = BY_ID[cid]
    f, d = prepare(case, tmp_path)
    argv = substitute(case["cli"], f, d, tmp_path)
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        code, out = run_cli(argv)
    finally:
        os.chdir(cwd)
    assert code not in ("traceback", "hang"), f"{case['what']}: {code}\n{out[-3000:]}"
    lines = [ln for ln in out.splitlines() if ln.strip()]
    if case["expect"] == "error":
        assert code != 0, f"{case['what']}: accepted silently (exit 0)\n{out[-2000:]}"
        assert len(lines) == 1, f"{case['what']}: {len(lines)} lines of output\n{out[-2000:]}"
        assert "Traceback" not in out
        m = re.search(r"(--[a-z0-9-]+)=", cid)
        opt = m.group(1) if m else None
        if opt:  # the message is about the option the case breaks
            assert opt in lines[0], f"{case['what']}: the message does not name {opt}: {lines[0]}"


@pytest.mark.parametrize("cid", _ids("api"))
def test_api_case(cid: str, tmp_path: Path) -> None:
    case = BY_ID[cid]
    f, d = prepare(case, tmp_path)
    outcome, msg = run_api(case, f, d)
    assert outcome != "accept-silent", f"{case['what']}: {msg}"
    assert outcome == case["expect"], f"{case['what']}: expected {case['expect']}, got {outcome}: {msg}"
    assert "\n" not in msg.strip(), f"{case['what']}: a message of several lines: {msg}"


@pytest.mark.parametrize("cid", ["profile-fifo", "profile-deep", "goal-dup-key", "cli-run--cfs-period-us=0",
                                 "trace-declared-huge", "state-rapl-outside"])
def test_some_cases_as_a_real_process(cid: str, tmp_path: Path) -> None:
    case = BY_ID[cid]
    f, d = prepare(case, tmp_path)
    argv = substitute(case["cli"], f, d, tmp_path)
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    p = subprocess.run([sys.executable, "-m", "alert", *argv], capture_output=True, text=True, timeout=120,
                       cwd=str(ROOT), env=env)
    out = p.stdout + p.stderr
    assert p.returncode != 0 and "Traceback" not in out
    assert len([ln for ln in out.splitlines() if ln.strip()]) == 1, out


def test_corpus_is_what_the_generator_writes(tmp_path: Path) -> None:
    """The committed manifest lists every case the generator makes, in order (no stale corpus)."""
    src = (CORPUS / "make_corpus.py").read_text()
    for c in CASES:
        key = c["id"].split("-", 1)[1] if c["id"].split("-", 1)[0] in ("profile", "trace", "goal", "state") else None
        if key and c["setup"] is None and c["file"]:
            assert (CORPUS / "cases" / c["file"]).exists(), c["id"]
    assert "def main" in src and all(stat.S_ISREG((CORPUS / "cases" / c["file"]).stat().st_mode)
                                     for c in CASES if c["file"] and c["setup"] is None
                                     and (CORPUS / "cases" / c["file"]).exists())
