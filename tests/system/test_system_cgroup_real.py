"""A real cgroup: created, quota enforced on a busy child process, removed. Skipped when the
machine does not let this process create cgroups."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from alert.system.cgroup import CgroupConfig, CgroupCpuQuota, detect, origin_of
from alert.system.errors import KnobUnavailable

pytestmark = pytest.mark.hardware


def _writable_cgroups() -> bool:
    try:
        _, mount = detect(Path("/sys/fs/cgroup"))
    except KnobUnavailable:
        return False
    probe = mount / f"alert-probe-{os.getpid()}"
    try:
        os.mkdir(probe)
        os.rmdir(probe)
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _writable_cgroups(), reason="cannot create cgroups here (needs root and a cpu hierarchy)")
def test_real_cgroup_quota_throttles_and_is_removed() -> None:
    busy = "import time\nt=time.time()\nwhile time.time()-t<20: pass"
    child = subprocess.Popen([sys.executable, "-c", busy])
    try:
        cfg = CgroupConfig(pids=(child.pid,), name=f"alert-test-{os.getpid()}")
        k = CgroupCpuQuota(cfg)
        before = origin_of(child.pid, k.version, Path("/proc"))
        k.apply(0.2)
        assert origin_of(child.pid, k.version, Path("/proc")).endswith(k.path.name)
        ticks = os.sysconf("SC_CLK_TCK")

        def cpu_s() -> float:
            f = Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(f[11]) + int(f[12])) / ticks

        c0, t0 = cpu_s(), time.monotonic()
        time.sleep(1.0)
        share = (cpu_s() - c0) / (time.monotonic() - t0)
        assert share < 0.35  # quota 0.2 cores (a busy loop gets ~1.0 unthrottled)
        k.restore()
        assert not k.path.exists()
        assert origin_of(child.pid, k.version, Path("/proc")) == before
    finally:
        child.kill()
        child.wait()


@pytest.mark.skipif(not _writable_cgroups(), reason="cannot create cgroups here (needs root and a cpu hierarchy)")
def test_real_prepare_failing_halfway_removes_the_cgroup_and_keeps_state_until_then(tmp_path: Path) -> None:
    from alert.system.guard import KnobGuard

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    k = CgroupCpuQuota(CgroupConfig(pids=(child.pid,), name=f"alert-test-{os.getpid()}"))
    child.kill()  # gone before prepare moves it: the write to cgroup.procs fails after the mkdir
    child.wait()
    with pytest.raises((KnobUnavailable, OSError)):
        with KnobGuard([k], tmp_path / "state"):
            pass
    assert not k.path.exists(), "a cgroup created by a failed prepare was left behind"
    assert list((tmp_path / "state").iterdir()) == []  # removed only after the cgroup was


@pytest.mark.skipif(not _writable_cgroups(), reason="cannot create cgroups here (needs root and a cpu hierarchy)")
def test_real_cgroup_removed_under_the_knob_is_noticed_at_the_next_apply() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        k = CgroupCpuQuota(CgroupConfig(pids=(child.pid,), name=f"alert-test-{os.getpid()}"))
        before = origin_of(child.pid, k.version, Path("/proc"))
        k.apply(0.5)
        # an outside cleaner moves the process out and removes the cgroup
        (k.mount / before.lstrip("/") / "cgroup.procs").write_text(str(child.pid))
        os.rmdir(k.path)
        with pytest.raises(KnobUnavailable, match="removed while the run was using it"):
            k.apply(0.5)
        k.restore()
        assert not k.path.exists()
    finally:
        child.kill()
        child.wait()
