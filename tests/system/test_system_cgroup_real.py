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
