"""Leftovers after signals, with the real cgroup knob: a double SIGTERM during restore, and SIGKILL
followed by ``alert restore``.

    PYTHONPATH=src python3 benchmarks/signal_restore.py [--runs 40] [--child guard|alert-run] [--json out.json]

Each run starts a child that takes the real cgroup quota knob (cgroup v1 ``cpu.cfs_quota_us``
or v2 ``cpu.max``; it creates ``alert-<pid>``, moves itself in and applies 0.5 cores) under a
:class:`~alert.system.guard.KnobGuard` with its own state directory.

* ``double``: once the child is ready, two SIGTERMs are sent with a gap drawn from
  0..``--max-gap-us`` (default 500 us; the first starts the restore, the second arrives during it).
* ``kill``: SIGKILL at a random moment (half of the runs while the child is still starting and
  preparing, half after it is ready), then ``alert restore --state-dir`` in a new process.

A leftover is an ``alert-<child pid>`` cgroup or any file in the state directory after the run
(and, for ``kill``, after ``alert restore``). Leftovers are counted, reported and then cleaned
up. ``--child alert-run`` runs the real ``alert run`` (examples/cpu-quota.json, random inputs)
instead of the small guard child; it is slower (PyTorch starts in every child). Needs root and a
writable cgroup hierarchy with the cpu controller.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = str(ROOT / "src")
sys.path.insert(0, SRC)

from alert.system.cgroup import detect  # noqa: E402

GUARD_CHILD = """
import sys, time
sys.path.insert(0, {src!r})
from alert.system.cgroup import CgroupConfig, CgroupCpuQuota
from alert.system.guard import KnobGuard
k = CgroupCpuQuota(CgroupConfig(period_us=4000))
with KnobGuard([k], {state!r}):
    k.apply(0.5)
    print("ready", flush=True)
    t = time.time()
    while time.time() - t < 30:
        pass
"""


def child_cmd(kind: str, state: Path, log: Path) -> list[str]:
    if kind == "guard":
        return [sys.executable, "-c", GUARD_CHILD.format(src=SRC, state=str(state))]
    return [sys.executable, "-m", "alert.cli", "run", "--profile", str(ROOT / "examples" / "cpu-quota.json"),
            "--goal", "max-accuracy:deadline=0.016", "--models", str(ROOT / "examples" / "cpu-quota-models.py") + ":models",
            "--knob", "cgroup", "--cfs-period-us", "4000", "--threads", "1", "--data", "random", "--inputs", "100000",
            "--period", "0.02", "--state-dir", str(state), "--log", str(log), "--json"]


def wait_ready(p: subprocess.Popen[str], kind: str, mount: Path, timeout: float = 60) -> bool:
    """The guard child prints 'ready'; an alert run is ready once its cgroup exists and its log grows."""
    t0 = time.monotonic()
    if kind == "guard":
        assert p.stdout is not None
        return p.stdout.readline().strip() == "ready"
    while time.monotonic() - t0 < timeout:
        if (mount / f"alert-{p.pid}").is_dir():
            time.sleep(0.3)  # warm-up inputs and the first logged ones
            return True
        if p.poll() is not None:
            return False
        time.sleep(0.01)
    return False


def leftovers(mount: Path, pid: int, state: Path) -> list[str]:
    out = []
    if (mount / f"alert-{pid}").exists():
        out.append(f"cgroup {mount / f'alert-{pid}'}")
    if state.exists():
        out += [f"state file {f}" for f in sorted(state.iterdir())]
    return out


def clean(mount: Path, pid: int, state: Path) -> None:
    g = mount / f"alert-{pid}"
    if g.exists():
        for listing in ("cgroup.procs", "tasks"):
            f = g / listing
            for i in (f.read_text().split() if f.exists() else []):
                try:
                    (mount / listing).write_text(i)
                except OSError:
                    pass
        try:
            os.rmdir(g)
        except OSError:
            pass
    shutil.rmtree(state, ignore_errors=True)


def run_once(mode: str, kind: str, rng: random.Random, mount: Path, work: Path, i: int, max_gap: float) -> dict:
    state = work / f"state-{mode}-{i}"
    log = work / f"log-{mode}-{i}.csv"
    env = dict(os.environ, PYTHONPATH=SRC)
    p = subprocess.Popen(child_cmd(kind, state, log), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=env, cwd=str(ROOT))
    rec: dict = {"mode": mode, "pid": p.pid}
    if mode == "double":
        if not wait_ready(p, kind, mount):
            p.kill()
            rec["error"] = "child did not start: " + (p.communicate()[1] or "")[-300:]
            return rec
        gap = rng.uniform(0, max_gap)
        os.kill(p.pid, signal.SIGTERM)
        t = time.perf_counter()
        while time.perf_counter() - t < gap:
            pass
        try:
            os.kill(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        rec["gap_us"] = round(gap * 1e6, 1)
        _, err = p.communicate(timeout=60)
        rec["exit"] = p.returncode
        rec["traceback"] = "Traceback" in err
    else:
        early = i % 2 == 0
        if early:
            time.sleep(rng.uniform(0.0, 0.25 if kind == "guard" else 3.0))
        elif not wait_ready(p, kind, mount):
            p.kill()
            rec["error"] = "child did not start"
            return rec
        else:
            time.sleep(rng.uniform(0.0, 0.005))
        rec["when"] = "starting" if early else "running"
        p.kill()
        p.communicate(timeout=60)
        rec["state_files_before_restore"] = len(list(state.iterdir())) if state.exists() else 0
        r = subprocess.run([sys.executable, "-m", "alert.cli", "restore", "--state-dir", str(state)],
                           capture_output=True, text=True, env=env, cwd=str(ROOT), timeout=60)
        rec["restore_rc"] = r.returncode
        rec["restore_out"] = (r.stdout + r.stderr).strip()[-300:]
    rec["leftovers"] = leftovers(mount, p.pid, state)
    clean(mount, p.pid, state)
    log.unlink(missing_ok=True)
    return rec


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=40, help="runs per mode (default: %(default)s)")
    ap.add_argument("--child", choices=["guard", "alert-run"], default="guard")
    ap.add_argument("--max-gap-us", type=float, default=500.0, help="largest gap between the two SIGTERMs")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=None, help="write every run's record here")
    args = ap.parse_args(argv)
    if args.runs < 1:
        ap.error("--runs must be >= 1")
    if not 0 <= args.max_gap_us <= 1e6:
        ap.error("--max-gap-us must be within 0..1000000")
    try:
        _, mount = detect(Path("/sys/fs/cgroup"))
        probe = mount / f"alert-probe-{os.getpid()}"
        os.mkdir(probe)
        os.rmdir(probe)
    except Exception as e:
        print(f"error: needs root and a writable cgroup hierarchy with the cpu controller ({e})", file=sys.stderr)
        return 2
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="alert-signals-"))
    records = []
    try:
        for mode in ("double", "kill"):
            for i in range(args.runs):
                records.append(run_once(mode, args.child, rng, mount, work, i, args.max_gap_us * 1e-6))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    summary = {}
    for mode in ("double", "kill"):
        rs = [r for r in records if r["mode"] == mode]
        summary[mode] = {"runs": len(rs), "errors": sum("error" in r for r in rs),
                         "runs_with_leftovers": sum(bool(r.get("leftovers")) for r in rs),
                         "leftovers": [x for r in rs for x in r.get("leftovers", [])]}
    summary["double"]["died_of_sigterm"] = sum(r.get("exit") == -signal.SIGTERM for r in records
                                               if r["mode"] == "double")
    summary["double"]["tracebacks"] = sum(bool(r.get("traceback")) for r in records if r["mode"] == "double")
    summary["kill"]["restore_failures"] = sum(r.get("restore_rc", 0) != 0 for r in records if r["mode"] == "kill")
    summary["kill"]["killed_while_starting"] = sum(r.get("when") == "starting" for r in records)
    summary["kill"]["state_files_left_by_kill"] = sum(r.get("state_files_before_restore", 0) for r in records)
    print(json.dumps({"child": args.child, "mount": str(mount), "max_gap_us": args.max_gap_us, **summary}, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": summary, "runs": records}, indent=1))
    return 0 if all(summary[m]["runs_with_leftovers"] == 0 and summary[m]["errors"] == 0
                    for m in ("double", "kill")) else 1


if __name__ == "__main__":
    sys.exit(main())
