"""Where the quota cgroup goes and the limits it carries over from the cgroups the process leaves.

Fake cgroup v1 and v2 trees with a fake /proc; every expected value is read off the tree by hand.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from _system_fakes import fake_make_group, fake_remove_group, make_cgroup_v1, write

from alert.system import cgroup as cg
from alert.system.cgroup import CgroupConfig, CgroupCpuQuota, origin_limits
from alert.system.errors import KnobUnavailable
from alert.system.roots import RefusedPath, SystemRoots


@pytest.fixture
def fake_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cg, "make_group", fake_make_group)
    monkeypatch.setattr(cg, "remove_group", fake_remove_group)
    monkeypatch.setattr(cg.os, "nice", lambda inc: 0)


def v2_tree(tmp_path: Path, subtree: str = "cpu memory pids cpuset") -> tuple[Path, Path]:
    """root → user.slice (pids.max 200, memory.high 10^6, 0.5 core) → job.scope (memory.max 5·10^6,
    1.5 cores); the process 77 runs in job.scope."""
    root, proc = tmp_path / "cg", tmp_path / "proc"
    write(root / "cgroup.controllers", "cpuset cpu io memory pids")
    write(root / "cgroup.subtree_control", subtree)
    write(root / "cgroup.procs", "1")
    write(root / "cpuset.cpus.effective", "0-3")
    write(root / "cpuset.mems.effective", "0")
    sl = root / "user.slice"
    for name, value in (("pids.max", 200), ("memory.max", "max"), ("memory.high", 1_000_000),
                        ("cpu.max", "50000 100000"), ("cgroup.procs", "")):
        write(sl / name, value)
    job = sl / "job.scope"
    for name, value in (("pids.max", "max"), ("memory.max", 5_000_000), ("memory.swap.max", "max"),
                        ("cpu.max", "150000 100000"), ("cgroup.procs", "77"),
                        ("cpuset.cpus.effective", "0-3"), ("cpuset.mems.effective", "0")):
        write(job / name, value)
    write(proc / "77" / "cgroup", "0::/user.slice/job.scope")
    return root, proc


def read(p: Path) -> str:
    return p.read_text().strip()


def _record_writes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the files the knob writes, in order (the writes still happen)."""
    writes: list[str] = []
    real_write = cg.sysfs.write_text

    def record(path: os.PathLike[str] | str, value: object, **kw: object) -> None:
        writes.append(Path(path).name)
        real_write(path, value, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(cg.sysfs, "write_text", record)
    return writes


def test_origin_limits_are_the_least_along_the_path(tmp_path: Path) -> None:
    root, _ = v2_tree(tmp_path)
    lim = origin_limits(root, "v2", "/user.slice/job.scope")
    # 0.5 core at the slice beats 1.5 at the scope; pids from the slice, memory.max from the scope
    assert lim.parent == () and lim.cores == lim.left == 0.5  # no cgroup below the root enables cpu
    assert dict(lim.v2) == {"pids.max": 200, "memory.high": 1_000_000, "memory.max": 5_000_000}
    assert lim.cpuset == ()  # the same cpus and mems as the root: nothing to carry
    assert origin_limits(root, "v2", "/") == cg.OriginLimits()  # the root itself limits nothing
    # the slice enables cpu for its children: the group goes beside the scope, the slice's limits
    # stay in force above it, and only the scope's are carried
    write(root / "user.slice" / "cgroup.subtree_control", "cpu memory pids")
    write(root / "user.slice" / "cgroup.type", "domain")
    lim = origin_limits(root, "v2", "/user.slice/job.scope")
    assert lim.parent == ("user.slice",) and lim.cores == 0.5 and lim.left == 1.5
    assert dict(lim.v2) == {"memory.max": 5_000_000}
    write(root / "user.slice" / "cgroup.type", "domain threaded")  # may hold processes: not a parent
    assert origin_limits(root, "v2", "/user.slice/job.scope").parent == ()


def test_v2_group_gets_the_limits_before_the_process_moves(tmp_path: Path, fake_groups: None,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    root, proc = v2_tree(tmp_path)
    writes = _record_writes(monkeypatch)
    k = CgroupCpuQuota(CgroupConfig(root=root, proc=proc, pids=(77,), ncpu=2, name="alert-t"))
    assert k.limits() == (0.01, 0.5)  # the slice's half core, not the two CPUs of the affinity
    k.prepare()
    g = root / "alert-t"
    assert (read(g / "pids.max"), read(g / "memory.max"), read(g / "memory.high")) == ("200", "5000000", "1000000")
    assert read(g / "memory.swap.max") == "max"  # no cgroup on the path sets it
    assert read(g / "cpu.max") == "50000 100000"  # before any setting: the quota the process had
    assert writes.index("cgroup.procs") > max(writes.index(n) for n in ("pids.max", "memory.max", "memory.high", "cpu.max"))
    with pytest.raises(Exception, match="0.5"):
        k.apply(1.0)
    k.apply(0.25)
    assert read(g / "cpu.max") == "25000 100000"
    k.restore()
    assert not g.exists()


def test_v2_limit_the_group_cannot_carry_stops_before_the_move(tmp_path: Path, fake_groups: None) -> None:
    root, proc = v2_tree(tmp_path, subtree="cpu memory")  # pids not enabled for the root's children
    k = CgroupCpuQuota(CgroupConfig(root=root, proc=proc, pids=(77,), ncpu=2, name="alert-t"))
    with pytest.raises(KnobUnavailable, match=r"pids.max.*\+pids"):
        k.apply(0.25)
    assert read(root / "alert-t" / "cgroup.procs") == ""  # the process never left its limits
    k.restore()
    assert not (root / "alert-t").exists()


def test_v2_narrower_cpuset_is_copied(tmp_path: Path, fake_groups: None) -> None:
    root, proc = v2_tree(tmp_path)
    write(root / "user.slice" / "job.scope" / "cpuset.cpus.effective", "0-1")
    k = CgroupCpuQuota(CgroupConfig(root=root, proc=proc, pids=(77,), ncpu=2, name="alert-t"))
    k.apply(0.25)
    assert read(root / "alert-t" / "cpuset.cpus") == "0-1"
    assert read(root / "alert-t" / "cpuset.mems") == ""  # the mems are the root's: left alone
    k.restore()


def test_v2_without_limits_is_unchanged(tmp_path: Path, fake_groups: None) -> None:
    root, proc = v2_tree(tmp_path)
    for d in (root / "user.slice", root / "user.slice" / "job.scope"):
        for name in ("pids.max", "memory.max", "memory.high", "memory.swap.max"):
            if (d / name).exists():
                write(d / name, "max")
        write(d / "cpu.max", "max 100000")
    k = CgroupCpuQuota(CgroupConfig(root=root, proc=proc, pids=(77,), ncpu=2, name="alert-t"))
    assert k.limits() == (0.01, 2.0) and k.cap is None and k.carried == ()
    k.prepare()
    assert read(root / "alert-t" / "cpu.max") == "max 100000"
    assert read(root / "alert-t" / "pids.max") == "max"
    k.restore()


def test_v1_group_goes_under_the_origin(tmp_path: Path, fake_groups: None) -> None:
    """v1 lets a cgroup with tasks have children: the group goes under the process's own cgroup,
    where the hierarchy keeps every quota above it; its range stops at the least of them."""
    root, proc = tmp_path / "cg", tmp_path / "proc"
    cpu = make_cgroup_v1(root, proc, 4242)
    jobs = cpu / "jobs"
    write(jobs / "cpu.cfs_quota_us", 30_000)
    write(jobs / "cpu.cfs_period_us", 100_000)
    write(jobs / "j1" / "cpu.cfs_quota_us", -1)
    write(jobs / "j1" / "cpu.cfs_period_us", 100_000)
    write(jobs / "j1" / "cgroup.procs", "4242")
    write(proc / "4242" / "cgroup", "4:memory:/x\n1:cpu:/jobs/j1\n0::/")
    k = CgroupCpuQuota(CgroupConfig(root=root, proc=proc, pids=(4242,), ncpu=2, name="alert-t"))
    assert k.path == jobs / "j1" / "alert-t" and k.limits() == (0.01, 0.3)
    k.prepare()
    assert read(k.path / "cpu.cfs_quota_us") == "-1"  # the quota above still holds: none of its own
    k.apply(0.1)
    assert read(k.path / "cpu.cfs_quota_us") == "10000" and read(k.path / "cgroup.procs") == "4242"
    k.restore()
    assert not k.path.exists() and read(jobs / "j1" / "cgroup.procs") == "4242"


def test_v2_group_goes_beside_the_scope(tmp_path: Path, fake_groups: None) -> None:
    root, proc = v2_tree(tmp_path)
    sl = root / "user.slice"
    write(sl / "cgroup.subtree_control", "cpu memory pids")
    write(sl / "cgroup.type", "domain")
    k = CgroupCpuQuota(CgroupConfig(root=root, proc=proc, pids=(77,), ncpu=2, name="alert-t"))
    assert k.path == sl / "alert-t" and k.limits() == (0.01, 0.5)
    k.prepare()
    # the scope's own limits only: the slice's pids.max and half core bind the group from above
    assert (read(k.path / "memory.max"), read(k.path / "pids.max"), read(k.path / "memory.high")) == \
        ("5000000", "max", "max")
    assert read(k.path / "cpu.max") == "50000 100000"  # the scope's 1.5 cores, within the slice's 0.5
    assert read(root / "cgroup.subtree_control") == "cpu memory pids cpuset"  # nothing enabled at the root
    snap = k.snapshot()
    k.restore()
    assert not k.path.exists() and read(sl / "job.scope" / "cgroup.procs") == "77"
    # the state file's nested path passes the restore allowlist
    assert cg.check_snapshot(snap, SystemRoots(cgroup=root))[1] == sl / "alert-t"


def test_a_quota_below_the_kernel_minimum_is_refused(tmp_path: Path, fake_groups: None) -> None:
    root, proc = v2_tree(tmp_path)
    write(root / "user.slice" / "cpu.max", "5000 1000000")  # 0.005 core: 500 us of a 100 ms period
    with pytest.raises(KnobUnavailable, match="at least 200000 us"):
        CgroupCpuQuota(CgroupConfig(root=root, proc=proc, pids=(77,), ncpu=2, name="alert-t"))
    k = CgroupCpuQuota(CgroupConfig(root=root, proc=proc, pids=(77,), ncpu=2, name="alert-t", period_us=200_000))
    assert k.limits() == (0.005, 0.005)


def test_an_ancestors_cpuset_is_carried(tmp_path: Path, fake_groups: None) -> None:
    root, proc = v2_tree(tmp_path)
    job = root / "user.slice" / "job.scope"
    (job / "cpuset.cpus.effective").unlink()  # cpuset not enabled below the slice
    (job / "cpuset.mems.effective").unlink()
    write(root / "user.slice" / "cpuset.cpus.effective", "0-1")
    write(root / "user.slice" / "cpuset.mems.effective", "0")
    k = CgroupCpuQuota(CgroupConfig(root=root, proc=proc, pids=(77,), ncpu=2, name="alert-t"))
    assert k.cpuset == (("cpuset.cpus", "0-1"),)


def _homeless(root: Path, proc: Path) -> CgroupCpuQuota:
    """Process 77 under a quota, then its own cgroup removed and the slice above it taking no
    process (as a cgroup with controllers enabled for its children does not)."""
    k = CgroupCpuQuota(CgroupConfig(root=root, proc=proc, pids=(77,), ncpu=2, name="alert-t"))
    k.apply(0.25)
    job = root / "user.slice" / "job.scope"
    for f in job.iterdir():
        f.unlink()
    job.rmdir()
    os.chmod(root / "user.slice" / "cgroup.procs", 0o444)
    return k


def test_a_process_whose_cgroup_is_gone_stays_in_the_group(tmp_path: Path, fake_groups: None) -> None:
    """Its cgroup removed while it held the knob, the process is not sent to the root, where none
    of its limits would hold: it stays in the group (which keeps them) until it can go home or exits."""
    root, proc = v2_tree(tmp_path)
    k = _homeless(root, proc)
    with pytest.raises(KnobUnavailable, match=r"\[77\] left their own cgroup behind"):
        k.restore()
    assert read(root / "alert-t" / "cgroup.procs") == "77" and "77" not in read(root / "cgroup.procs").split()
    (root / "alert-t" / "cgroup.procs").write_text("")  # it exited
    k.restore()
    assert not (root / "alert-t").exists()


def test_a_process_moved_before_prepare_is_refused(tmp_path: Path, fake_groups: None) -> None:
    root, proc = v2_tree(tmp_path)
    k = CgroupCpuQuota(CgroupConfig(root=root, proc=proc, pids=(77,), ncpu=2, name="alert-t"))
    write(root / "user.slice" / "cgroup.subtree_control", "cpu memory pids")  # now placed under the slice
    write(root / "user.slice" / "cgroup.type", "domain")
    with pytest.raises(KnobUnavailable, match="moved to another cgroup"):
        k.prepare()
    assert not (root / "alert-t").exists() and not (root / "user.slice" / "alert-t").exists()


def test_restore_allowlist_for_nested_groups(tmp_path: Path) -> None:
    root, _ = v2_tree(tmp_path)
    base = {"kind": "cgroup", "version": "v2", "mount": str(root), "origins": {"77": "/user.slice"}}
    roots = SystemRoots(cgroup=root)
    (root / "user.slice" / "alert-x").mkdir()
    assert cg.check_snapshot({**base, "path": str(root / "user.slice" / "alert-x")}, roots)[1] == \
        root / "user.slice" / "alert-x"
    (root / "lnk").symlink_to(root / "user.slice")
    for path, why in [(tmp_path / "alert-x", "not below"), (root / "user.slice" / "job.scope", "not an allowed name"),
                      (root / "lnk" / "alert-x", "symbolic link"), (str(root) + "/user.slice/../alert-x", r"'\.\.'")]:
        with pytest.raises(RefusedPath, match=why):
            cg.check_snapshot({**base, "path": str(path)}, roots)


def test_a_link_out_of_the_tree_is_refused(tmp_path: Path, fake_groups: None) -> None:
    root, proc = v2_tree(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    write(elsewhere / "pids.max", "max")
    (root / "other").symlink_to(elsewhere)
    write(proc / "77" / "cgroup", "0::/other")
    with pytest.raises(RefusedPath, match="symbolic link"):
        CgroupCpuQuota(CgroupConfig(root=root, proc=proc, pids=(77,), ncpu=2, name="alert-t"))


def test_a_malformed_limit_names_the_file(tmp_path: Path, fake_groups: None) -> None:
    root, proc = v2_tree(tmp_path)
    write(root / "user.slice" / "pids.max", "lots")
    with pytest.raises(KnobUnavailable, match=r"user.slice/pids.max: is not an integer or 'max'"):
        CgroupCpuQuota(CgroupConfig(root=root, proc=proc, pids=(77,), ncpu=2, name="alert-t"))


def test_a_group_that_exists_already_is_never_adopted(tmp_path: Path, fake_groups: None) -> None:
    """Placed under a cgroup a user may own (a delegated subtree), the group's name is predictable:
    a directory there already (theirs, or a killed run's) is refused, and left alone on restore."""
    root, proc = v2_tree(tmp_path)
    sl = root / "user.slice"
    write(sl / "cgroup.subtree_control", "cpu memory pids")
    write(sl / "cgroup.type", "domain")
    planted = sl / "alert-t"
    fake_make_group(planted)
    write(planted / "pids.max", "max")
    k = CgroupCpuQuota(CgroupConfig(root=root, proc=proc, pids=(77,), ncpu=2, name="alert-t"))
    with pytest.raises(KnobUnavailable, match="exists already.*alert restore"):
        k.apply(0.25)
    assert read(planted / "cgroup.procs") == "" and read(planted / "pids.max") == "max"
    k.restore()
    assert planted.is_dir()


def _v1_alice(tmp_path: Path) -> tuple[Path, Path, Path]:
    """v1: /alice with a 0.5-core quota; threads 101 in /alice/a and 102 in /alice/b of process 100."""
    root, proc = tmp_path / "cg", tmp_path / "proc"
    cpu = make_cgroup_v1(root, proc, 100)
    alice = cpu / "alice"
    write(alice / "cpu.cfs_quota_us", 50_000)
    write(alice / "cpu.cfs_period_us", 100_000)
    for sub, tid in (("a", 101), ("b", 102)):
        write(alice / sub / "cpu.cfs_quota_us", -1)
        write(alice / sub / "cpu.cfs_period_us", 100_000)
        write(alice / sub / "tasks", tid)
        write(alice / sub / "cgroup.procs", "")
        write(proc / str(tid) / "cgroup", f"1:cpu:/alice/{sub}\n")
    write(alice / "tasks", "")
    write(alice / "cgroup.procs", "")
    return cpu, proc, alice


def test_processes_of_two_cgroups_share_their_common_parent(tmp_path: Path, fake_groups: None) -> None:
    """Threads from two cgroups of one quota'd subtree: the group goes under the subtree (whose
    quota then binds it, shared), not beside it at the root with a copy of its own."""
    cpu, proc, alice = _v1_alice(tmp_path)
    k = CgroupCpuQuota(CgroupConfig(root=cpu.parent, proc=proc, tids=(101, 102), ncpu=2, name="alert-t"))
    assert k.path == alice / "alert-t" and k.limits() == (0.01, 0.5)
    k.prepare()
    assert read(k.path / "cpu.cfs_quota_us") == "-1"  # /alice's quota holds from above
    # restore: each thread back alone to its own cgroup; the process id is never written
    write(k.path / "cgroup.procs", "100")  # (v1 lists the process of a thread in the group)
    k.restore()
    assert (read(alice / "a" / "tasks"), read(alice / "b" / "tasks")) == ("101", "102")
    assert read(alice / "a" / "cgroup.procs") == "" and read(alice / "b" / "cgroup.procs") == ""


def test_a_client_never_gets_its_own_copy_of_someone_elses_limit(tmp_path: Path, fake_groups: None) -> None:
    root, proc = v2_tree(tmp_path)
    job = root / "user.slice" / "job.scope"
    uid = 4321  # knobd's client; the slice's and the scope's limit files are root's
    with pytest.raises(KnobUnavailable, match=r"user.slice/(pids.max|memory.high|cpu.max|memory.max).*not uid 4321's"):
        CgroupCpuQuota(CgroupConfig(root=root, proc=proc, pids=(77,), ncpu=2, name="alert-t", client_uid=uid))
    # the limits left are the client's own (its files): copied, as they bind it alone already
    write(root / "user.slice" / "cgroup.subtree_control", "cpu memory pids")
    write(root / "user.slice" / "cgroup.type", "domain")
    for f in job.iterdir():
        os.chown(f, uid, -1)
    k = CgroupCpuQuota(CgroupConfig(root=root, proc=proc, pids=(77,), ncpu=2, name="alert-t", client_uid=uid))
    assert k.carried == (("memory.max", 5_000_000),) and k.path == root / "user.slice" / "alert-t"


def test_the_kernel_minimum_is_compared_exactly(tmp_path: Path, fake_groups: None) -> None:
    root, proc = v2_tree(tmp_path)
    write(root / "user.slice" / "cpu.max", "1000 3991")  # exactly 1 ms per 3991 us
    k = CgroupCpuQuota(CgroupConfig(root=root, proc=proc, pids=(77,), ncpu=2, name="alert-t", period_us=3991))
    k.prepare()
    assert read(k.path / "cpu.max") == "1000 3991"
    k.restore()


def test_a_refused_group_is_left_alone_when_the_controller_was_enabled(tmp_path: Path, fake_groups: None) -> None:
    root, proc = v2_tree(tmp_path, subtree="memory pids cpuset")  # cpu to enable at the root
    fake_make_group(root / "alert-t")
    write(root / "alert-t" / "cgroup.procs", "555")
    k = CgroupCpuQuota(CgroupConfig(root=root, proc=proc, pids=(77,), ncpu=2, name="alert-t"))
    with pytest.raises(KnobUnavailable, match="exists already"):
        k.prepare()
    k.restore()
    assert read(root / "alert-t" / "cgroup.procs") == "555" and read(root / "cgroup.subtree_control") == "-cpu"


def test_a_group_swapped_right_after_mkdir_is_not_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, proc = v2_tree(tmp_path)
    monkeypatch.setattr(cg.os, "nice", lambda inc: 0)

    def swapped(path: Path) -> None:  # made, removed and made again by a user who may write the parent
        fake_make_group(path)
        for f in [path, *path.iterdir()]:
            os.chown(f, 4321, -1)

    monkeypatch.setattr(cg, "make_group", swapped)
    monkeypatch.setattr(cg, "remove_group", fake_remove_group)
    k = CgroupCpuQuota(CgroupConfig(root=root, proc=proc, pids=(77,), ncpu=2, name="alert-t"))
    with pytest.raises(KnobUnavailable, match="replaced by another directory"):
        k.prepare()
    assert read(root / "alert-t" / "cgroup.procs") == "" and read(root / "alert-t" / "pids.max") == "max"
    k.restore()
    assert (root / "alert-t").is_dir()  # not this knob's: left alone


def test_a_half_done_prepare_closes_its_descriptor_and_is_not_repeated(tmp_path: Path, fake_groups: None) -> None:
    root, proc = v2_tree(tmp_path, subtree="cpu memory cpuset")  # pids.max cannot be carried: prepare stops
    k = CgroupCpuQuota(CgroupConfig(root=root, proc=proc, pids=(77,), ncpu=2, name="alert-t"))
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(3):
        with pytest.raises(KnobUnavailable):
            k.prepare()
    assert len(os.listdir("/proc/self/fd")) == before and k._fd is None
    with pytest.raises(KnobUnavailable, match="stopped half-way.*restore the knob first"):
        k.prepare()
    k.restore()
    assert not (root / "alert-t").exists()


def test_restore_leaves_a_group_renamed_or_replaced_alone(tmp_path: Path, fake_groups: None) -> None:
    root, proc = v2_tree(tmp_path)
    k = CgroupCpuQuota(CgroupConfig(root=root, proc=proc, pids=(77,), ncpu=2, name="alert-t"))
    k.apply(0.5)
    (root / "alert-t").rename(root / "elsewhere")  # someone who may write the parent...
    fake_make_group(root / "alert-t")               # ...puts another cgroup in its place
    write(root / "alert-t" / "cgroup.procs", "501")
    with pytest.raises(KnobUnavailable, match="no longer the cgroup this knob made"):
        k.restore()
    assert read(root / "alert-t" / "cgroup.procs") == "501"  # not moved, not removed


def test_a_full_group_with_nowhere_to_go_costs_one_pass(tmp_path: Path, fake_groups: None,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    root, proc = v2_tree(tmp_path)
    k = _homeless(root, proc)
    write(root / "alert-t" / "cgroup.procs", "\n".join(str(i) for i in range(1000, 1500)))  # its children
    tries: list[str] = []
    real = cg.sysfs.write_text

    def count(path: os.PathLike[str] | str, value: object, **kw: object) -> None:
        tries.append(str(path))
        real(path, value, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(cg.sysfs, "write_text", count)
    with pytest.raises(KnobUnavailable, match="left their own cgroup behind"):
        k.restore()
    assert len(tries) <= 2  # the homes of the one origin tried once, not once per process


def test_the_root_keeps_cpu_while_another_group_uses_it(tmp_path: Path, fake_groups: None) -> None:
    root, proc = v2_tree(tmp_path, subtree="memory pids cpuset")
    for d in (root / "user.slice", root / "user.slice" / "job.scope"):  # no limits to carry
        for name in ("pids.max", "memory.max", "memory.high", "memory.swap.max"):
            if (d / name).exists():
                write(d / name, "max")
        write(d / "cpu.max", "max 100000")
    a = CgroupCpuQuota(CgroupConfig(root=root, proc=proc, pids=(77,), ncpu=2, name="alert-a"))
    a.apply(0.25)  # enables cpu at the root
    write(root / "cgroup.subtree_control", "cpu memory pids cpuset")  # (the fake file took only "+cpu")
    write(proc / "78" / "cgroup", "0::/user.slice/job.scope")
    b = CgroupCpuQuota(CgroupConfig(root=root, proc=proc, pids=(78,), ncpu=2, name="alert-b"))
    b.apply(0.5)
    a.restore()
    assert "-cpu" not in read(root / "cgroup.subtree_control")  # b's quota still holds
    b.restore()


def test_a_link_put_in_place_of_the_new_group_is_not_followed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root, proc = v2_tree(tmp_path)
    monkeypatch.setattr(cg.os, "nice", lambda inc: 0)
    victim = root / "user.slice" / "job.scope"

    def linked(path: Path) -> None:  # made, then replaced by a link to another cgroup
        path.symlink_to(victim)

    monkeypatch.setattr(cg, "make_group", linked)
    monkeypatch.setattr(cg, "remove_group", fake_remove_group)
    k = CgroupCpuQuota(CgroupConfig(root=root, proc=proc, pids=(77,), ncpu=2, name="alert-t"))
    with pytest.raises(KnobUnavailable, match="replaced right after it was made"):
        k.prepare()
    k.restore()
    assert (root / "alert-t").is_symlink() and read(victim / "cgroup.procs") == "77"
    assert read(victim / "cpu.max") == "150000 100000"  # nothing written through the link


def test_a_process_that_exits_during_restore_does_not_strand_the_others(tmp_path: Path, fake_groups: None,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import errno as _errno

    root, proc = v2_tree(tmp_path)
    k = CgroupCpuQuota(CgroupConfig(root=root, proc=proc, pids=(77,), ncpu=2, name="alert-t"))
    k.apply(0.5)
    write(root / "alert-t" / "cgroup.procs", "90\n77")  # a child listed first, exiting as it is moved
    real = cg.sysfs.write_text

    def exits(path: os.PathLike[str] | str, value: object, **kw: object) -> None:
        if value == 90:
            (root / "alert-t" / "cgroup.procs").write_text("77\n")
            raise OSError(_errno.ESRCH, "No such process")
        real(path, value, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(cg.sysfs, "write_text", exits)
    k.restore()
    assert "77" in read(root / "user.slice" / "job.scope" / "cgroup.procs").split()
    assert not (root / "alert-t").exists()


def test_restore_by_state_file_refuses_a_group_another_uid_put_in_its_place(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A state file names the group by path: a directory at that path owned by another uid than
    the one whose runs made the state directory's groups was put there since, and is left alone."""
    root, _ = v2_tree(tmp_path)
    group = root / "user.slice" / "alert-x"
    write(group / "cgroup.procs", "501")
    snap = {"kind": "cgroup", "version": "v2", "mount": str(root), "origins": {"77": "/user.slice"},
            "path": str(group)}
    roots = SystemRoots(cgroup=root)
    owner = group.stat().st_uid
    assert cg.check_snapshot(snap, roots)[1] == group  # made by this uid: accepted
    monkeypatch.setattr(cg.os, "geteuid", lambda: owner + 1)  # as if another uid had made it
    with pytest.raises(RefusedPath, match=f"owned by uid {owner}, not by uid {owner + 1}"):
        cg.restore_snapshot(snap, roots)
    assert read(group / "cgroup.procs") == "501"  # nothing moved, nothing removed
    monkeypatch.undo()
    (group / "cgroup.procs").unlink()
    group.rmdir()
    write(group, "not a cgroup")  # a plain file where the group was
    with pytest.raises(RefusedPath, match="is not a directory"):
        cg.check_snapshot(snap, roots)


@pytest.mark.parametrize(("slice_weight", "scope_weight", "shares", "expected"), [
    (10, None, 1024, "10"),      # a background slice: the group gets no more than its weight, not 100
    (100, None, 29154, "100"),   # nice -15 (2847 alone) in a slice of weight 100: the slice's weight
    (500, 40, 1024, "40"),       # the least of the cgroups left
    (None, None, 29154, "2847"),  # nothing left sets one: the nice level's weight, as before
    (100, None, 1024, "100"),    # the defaults: nothing written (the kernel's 100 stays)
])
def test_v2_group_competes_at_no_more_than_the_weight_of_the_cgroups_left(
        tmp_path: Path, fake_groups: None, slice_weight: int | None, scope_weight: int | None,
        shares: int, expected: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The group goes beside the cgroup the process leaves (under the root here): it competes
    with that cgroup's siblings, so it takes at most the weight that cgroup had among them."""
    root, proc = v2_tree(tmp_path)
    if slice_weight is not None:
        write(root / "user.slice" / "cpu.weight", slice_weight)
    if scope_weight is not None:
        write(root / "user.slice" / "job.scope" / "cpu.weight", scope_weight)
    writes = _record_writes(monkeypatch)
    k = CgroupCpuQuota(CgroupConfig(root=root, proc=proc, pids=(77,), ncpu=2, name="alert-t", shares=shares))
    k.prepare()
    assert read(root / "alert-t" / "cpu.weight") == expected
    assert ("cpu.weight" in writes) == (expected != "100")
    assert writes.index("cgroup.procs") > writes.index("cpu.weight") if "cpu.weight" in writes else True
    k.restore()


def test_v1_weight_is_the_nice_levels_inside_the_origin(tmp_path: Path, fake_groups: None) -> None:
    """On v1 the group goes inside the process's own cgroup, whose weight keeps applying above it:
    the group takes the nice level's weight against the tasks beside it."""
    root, proc = tmp_path / "cg", tmp_path / "proc"
    cpu = make_cgroup_v1(root, proc, 77)
    write(cpu / "cpu.shares", 10)
    k = CgroupCpuQuota(CgroupConfig(root=root, proc=proc, pids=(77,), ncpu=2, name="alert-t", shares=29154))
    k.prepare()
    assert k.weight is None and read(cpu / "alert-t" / "cpu.shares") == "29154"
    k.restore()
