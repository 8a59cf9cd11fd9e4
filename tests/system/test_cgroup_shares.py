"""The quota cgroup's CPU weight follows the moved process's nice level (or an explicit value)."""

from __future__ import annotations

from pathlib import Path

import pytest
from _system_fakes import fake_make_group, fake_remove_group, make_cgroup_v1, make_cgroup_v2

from alert.system import cgroup as cg
from alert.system.cgroup import CgroupConfig, CgroupCpuQuota, nice_weight, v2_weight


@pytest.fixture
def fake_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cg, "make_group", fake_make_group)
    monkeypatch.setattr(cg, "remove_group", fake_remove_group)


def test_weights_by_hand() -> None:
    # the kernel's table: 1024 at nice 0, 29154 at -15, 15 at 19; outside -20..19 clamped
    assert [nice_weight(n) for n in (0, -15, -20, 19, 1, -25, 30)] == [1024, 29154, 88761, 15, 820, 88761, 15]
    # v2 weight = shares x 100 / 1024, in 1..10000
    assert [v2_weight(s) for s in (1024, 29154, 262144, 2)] == [100, 2847, 10000, 1]


def test_v1_group_gets_the_weight_of_the_nice_level(tmp_path: Path, fake_groups: None,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    root, proc = tmp_path / "cg", tmp_path / "proc"
    cpu = make_cgroup_v1(root, proc, 4242)
    monkeypatch.setattr(cg.os, "nice", lambda inc: -15)
    k = CgroupCpuQuota(CgroupConfig(root=root, proc=proc, pids=(4242,), ncpu=2, name="alert-t"))
    assert k.shares == 29154
    k.apply(0.5)
    assert (cpu / "alert-t/cpu.shares").read_text().strip() == "29154"
    k.restore()
    assert not (cpu / "alert-t").exists()
    monkeypatch.setattr(cg.os, "nice", lambda inc: 0)   # nice 0: the default weight, nothing written
    k = CgroupCpuQuota(CgroupConfig(root=root, proc=proc, pids=(4242,), ncpu=2, name="alert-t"))
    k.apply(0.5)
    assert k.shares == 1024 and (cpu / "alert-t/cpu.shares").read_text().strip() == "1024"   # as created
    k.restore()


def test_v2_group_and_explicit_shares(tmp_path: Path, fake_groups: None, monkeypatch: pytest.MonkeyPatch) -> None:
    root, proc = tmp_path / "cg", tmp_path / "proc"
    make_cgroup_v2(root, proc, 77)
    monkeypatch.setattr(cg.os, "nice", lambda inc: -15)
    k = CgroupCpuQuota(CgroupConfig(root=root, proc=proc, pids=(77,), ncpu=2, name="alert-t", shares=2048))
    k.apply(1.0)
    assert k.shares == 2048 and (root / "alert-t/cpu.weight").read_text().strip() == "200"
    k.restore()
    assert not (root / "alert-t").exists()
    with pytest.raises(ValueError, match="shares 1: the kernel takes 2-262144. Fix"):
        CgroupConfig(shares=1)
