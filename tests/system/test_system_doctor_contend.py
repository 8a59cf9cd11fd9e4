"""alert doctor on fake machines; contention schedules and bounded workers."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from _system_fakes import FakeNvml, make_cgroup_v1, make_cpufreq, make_rapl

from alert.system.contend import Contention, ContentionConfig, is_on, triad
from alert.system.doctor import Doctor, SystemPaths, format_checks
from alert.system.errors import KnobUnavailable


def _paths(tmp_path: Path) -> SystemPaths:
    return SystemPaths(powercap=tmp_path / "powercap", cpu=tmp_path / "cpu", cgroup=tmp_path / "cg",
                       proc=tmp_path / "proc", dev=tmp_path / "dev")


def _no_torch():
    raise ImportError("no torch")


def _no_nvml():
    raise KnobUnavailable("pynvml", "nvidia-ml-py is not installed", "pip install nvidia-ml-py")


def test_doctor_on_a_bare_machine_says_why(tmp_path: Path) -> None:
    checks = {c.name: c for c in Doctor(_paths(tmp_path), nvml_loader=_no_nvml, torch_loader=_no_torch).run()}
    assert not checks["rapl power cap"].ok and "does not exist" in checks["rapl power cap"].detail
    assert "modprobe intel_rapl_msr" in checks["rapl power cap"].fix
    assert not checks["cpufreq cap"].ok
    assert not checks["torch threads"].ok and checks["torch threads"].fix == "pip install 'alert-atc[torch]'"
    assert not checks["cgroup cpu quota"].ok and "no cgroup hierarchy" in checks["cgroup cpu quota"].detail
    assert not checks["nvml power limit"].ok and "needs an NVIDIA GPU" in checks["nvml power limit"].fix
    assert checks["simulated"].ok and checks["cpu-time model"].ok
    assert format_checks(list(checks.values())).endswith("real knob(s) usable on this machine")


def test_doctor_on_a_full_fake_machine(tmp_path: Path) -> None:
    p = _paths(tmp_path)
    make_rapl(p.powercap)
    make_cpufreq(p.cpu)
    (p.dev).mkdir()
    nv = FakeNvml()
    checks = Doctor(p, nvml_loader=lambda: nv, torch_loader=_no_torch).run()
    by = {c.name: c for c in checks}
    assert by["rapl power cap intel-rapl:0"].ok and "1-25 W" in by["rapl power cap intel-rapl:0"].detail
    assert by["rapl energy intel-rapl:0"].ok
    assert by["cpufreq cap"].ok and "800-3000 MHz" in by["cpufreq cap"].detail
    assert by["nvml power limit gpu0"].ok and "100-350 W" in by["nvml power limit gpu0"].detail
    assert by["nvml locked clocks gpu0"].ok and by["nvml energy gpu0"].ok


def test_doctor_reports_rapl_disabled(tmp_path: Path) -> None:
    p = _paths(tmp_path)
    make_rapl(p.powercap, enabled=0)
    by = {c.name: c for c in Doctor(p, nvml_loader=_no_nvml, torch_loader=_no_torch).run()}
    c = by["rapl power cap intel-rapl:0"]
    assert not c.ok and "is 0" in c.detail and "echo 1" in c.fix
    assert by["rapl energy intel-rapl:0"].ok  # the counter still works


def test_doctor_cgroup_probe_on_fake_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from _system_fakes import fake_make_group, fake_remove_group

    from alert.system import cgroup as cg
    monkeypatch.setattr(cg, "make_group", fake_make_group)
    monkeypatch.setattr(cg, "remove_group", fake_remove_group)
    p = _paths(tmp_path)
    cpu = make_cgroup_v1(p.cgroup, p.proc, 1)
    by = {c.name: c for c in Doctor(p, nvml_loader=_no_nvml, torch_loader=_no_torch).run()}
    assert by["cgroup cpu quota"].ok and "created and removed" in by["cgroup cpu quota"].detail
    assert sorted(x.name for x in cpu.iterdir()) == ["cgroup.procs", "cpu.cfs_period_us", "cpu.cfs_quota_us", "tasks"]


def test_doctor_says_where_the_quota_cgroup_goes_and_whether_knobd_serves_there(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from _system_fakes import fake_make_group, fake_remove_group, write

    from alert.system import cgroup as cg
    monkeypatch.setattr(cg, "make_group", fake_make_group)
    monkeypatch.setattr(cg, "remove_group", fake_remove_group)
    p = _paths(tmp_path)
    root = p.cgroup
    write(root / "cgroup.controllers", "cpu memory pids")
    write(root / "cgroup.subtree_control", "cpu memory pids")
    write(root / "cgroup.procs", "")
    write(root / "user.slice" / "pids.max", 300)  # root's, shared by the slice: knobd would copy it
    write(root / "user.slice" / "cpu.weight", 20)  # a share among the root's children: carried as a bound
    write(root / "user.slice" / "s.scope" / "cgroup.procs", str(os.getpid()))
    write(p.proc / str(os.getpid()) / "cgroup", "0::/user.slice/s.scope")
    c = {c.name: c for c in Doctor(p, nvml_loader=_no_nvml, torch_loader=_no_torch).run()}["cgroup placement"]
    assert not c.ok and f"under {root} (no CPU quota on its path), carrying pids.max 300 (and a cpu.weight of " \
        "at most 20)" in c.detail
    assert "knobd refuses a non-root client" in c.detail and "--copy-shared-limits" in c.fix
    assert f"echo +cpu > {root / 'user.slice' / 'cgroup.subtree_control'}" in c.fix
    write(root / "user.slice" / "cgroup.subtree_control", "cpu pids")  # the fix: the group goes below the slice
    c = {c.name: c for c in Doctor(p, nvml_loader=_no_nvml, torch_loader=_no_torch).run()}["cgroup placement"]
    assert c.ok and f"under {root / 'user.slice'}" in c.detail and "carrying no limit" in c.detail


def test_schedule_by_hand() -> None:
    assert [is_on(t, 2.0, 1.0) for t in (0.0, 1.9, 2.0, 2.9, 3.0, 4.5)] == [True, True, False, False, True, True]
    assert [is_on(t, 2.0, 1.0, start_on=False) for t in (0.0, 0.9, 1.0, 2.9, 3.5)] == [False, False, True, True, False]


def test_triad_by_hand() -> None:
    a, b, c = np.zeros(3), np.array([1.0, 2.0, 3.0]), np.array([1.0, 1.0, 2.0])
    triad(a, b, c, s=3.0)
    assert a.tolist() == [4.0, 5.0, 9.0]


@pytest.mark.parametrize("kind", ["memory", "compute"])
def test_contention_is_bounded_and_works_only_when_on(kind: str) -> None:
    cfg = ContentionConfig(kind, on_s=0.3, off_s=10.0, duration_s=0.6, workers=1, array_mb=4)
    c = Contention(cfg)
    t = time.monotonic()
    c.start()
    time.sleep(0.05)
    assert c.is_on() and len(c.pids) == 1
    c.wait()
    assert time.monotonic() - t < 3.0  # stopped by --duration
    assert c.work.value > 0
    done = c.work.value
    assert not c.is_on()
    c.stop()
    assert c.work.value == done


def test_contention_config_errors() -> None:
    with pytest.raises(ValueError, match="memory' or 'compute"):
        ContentionConfig("disk", 1, 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="--on must be > 0"):
        ContentionConfig("memory", 0, 1)
    with pytest.raises(ValueError, match="--duration"):
        ContentionConfig("memory", 1, 1, duration_s=0)


def test_contention_workers_exit_when_their_parent_is_killed(tmp_path) -> None:
    import os
    import signal
    import subprocess
    import sys

    src = str(Path(__file__).resolve().parents[2] / "src")
    code = ("import sys, time\n"
            f"sys.path.insert(0, {src!r})\n"
            "from alert.system.contend import Contention, ContentionConfig\n"
            "c = Contention(ContentionConfig('compute', on_s=0.2, off_s=0.2, workers=1)).start()\n"
            "print(c.pids[0], flush=True)\n"
            "time.sleep(30)\n")
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None
    worker = int(p.stdout.readline())
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        os.kill(worker, signal.SIGKILL)
        raise AssertionError("contention worker outlived its parent")


def test_a_worker_that_cannot_start_is_a_clear_error() -> None:
    c = Contention(ContentionConfig("memory", on_s=1.0, off_s=1.0, workers=1, array_mb=1e12))  # 3 EB of arrays
    with pytest.raises(RuntimeError, match="did not start .*Fix: check that there is memory"):
        c.start(timeout=30)
    assert c.pids == []
