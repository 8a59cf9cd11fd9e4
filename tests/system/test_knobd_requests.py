"""knobd's request handling without root: what a member of its group can send, and what knobd
must not do with it (stop, stall, act on another process, leave a machine-wide knob changed).
The daemon is built for the current user's own group and driven through socket pairs."""

from __future__ import annotations

import errno
import grp
import json
import os
import selectors
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from _system_fakes import fake_make_group, fake_remove_group, make_cgroup_v1

import alert.system.cgroup as cg
from alert.system.cgroup import CgroupConfig, CgroupCpuQuota
from alert.system.errors import KnobUnavailable
from alert.system.knobd import Knobd, KnobdConfig, _Client, _proc_start
from alert.system.simulated import SimulatedKnob

GROUP = grp.getgrgid(os.getgid()).gr_name


def _daemon(tmp_path: Path, allow: tuple[str, ...] = ("simulated",)) -> Knobd:
    return Knobd(KnobdConfig(socket=tmp_path / "run" / "k.sock", group=GROUP, state_dir=tmp_path / "state",
                             allow=allow), log=lambda msg: None)


def _client(d: Knobd, pid: int | None = None, start: int | None = None) -> tuple[_Client, socket.socket]:
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    pid = os.getpid() if pid is None else pid
    c = _Client(ours, pid, os.getuid(), _proc_start(pid) if start is None else start)
    d.clients[ours.fileno()] = c
    return c, theirs


def _ask(d: Knobd, c: _Client, **req: Any) -> dict[str, Any]:
    return d._handle(c, json.dumps(req).encode())


class _Broken(SimulatedKnob):
    def read(self) -> float:
        raise RuntimeError("a bug")


def test_a_value_no_float_can_hold_is_refused_and_knobd_carries_on(tmp_path: Path) -> None:
    d = _daemon(tmp_path)
    c, _ = _client(d)
    c.knobs[1] = (SimulatedKnob([0.5, 1.0]), "none")
    huge = d._handle(c, b'{"op": "apply", "id": 1, "value": ' + b"9" * 400 + b"}")
    assert huge["ok"] is False and "value" in huge["error"] and "Fix:" in huge["error"]
    assert _ask(d, c, op="apply", id=1, value=0.5) == {"ok": True, "changed": True}
    c.knobs[2] = (_Broken([0.5, 1.0]), "none")
    bug = _ask(d, c, op="read", id=2)  # any other failure answers too, it does not end the daemon
    assert bug["ok"] is False and "RuntimeError" in bug["error"] and "Fix:" in bug["error"]


def test_a_pid_that_no_longer_is_the_connecting_process_is_refused(tmp_path: Path) -> None:
    d = _daemon(tmp_path)
    real = _proc_start(os.getpid())
    c, _ = _client(d, start=real - 1)  # the pid was reused by a process that started later
    r = _ask(d, c, op="open", knob="simulated")
    assert r["ok"] is False and f"pid {os.getpid()}) has exited" in r["error"] and not c.knobs
    c.knobs[1] = (SimulatedKnob([0.5, 1.0]), "none")
    assert _ask(d, c, op="apply", id=1, value=0.5)["ok"] is False
    assert _ask(d, c, op="restore", id=1) == {"ok": True}  # giving a knob back needs no live process
    gone, _ = _client(d, start=real)
    gone.uid = os.getuid() + 1  # the same pid and start, another owner: refused too
    assert "has exited" in _ask(d, gone, op="open", knob="simulated")["error"]


def test_a_client_that_does_not_read_its_replies_is_dropped_at_once(tmp_path: Path) -> None:
    d = _daemon(tmp_path)
    c, theirs = _client(d)
    sel = selectors.DefaultSelector()
    sel.register(c.sock, selectors.EVENT_READ, c)
    req = b'{"op": "limits", "id": 7}\n'
    theirs.setblocking(False)
    sent = 0
    try:
        while sent < 4_000_000:  # requests pipelined without reading a reply, until the socket is full
            sent += theirs.send(req * 256)
    except BlockingIOError:
        pass
    t0 = time.monotonic()
    for _ in range(2000):
        if c.sock.fileno() < 0:
            break
        d._readable(c, sel)
    assert c.sock.fileno() < 0 and c not in d.clients.values()  # dropped, not waited on
    assert time.monotonic() - t0 < 5.0
    theirs.close()


def test_one_connection_at_a_time_holds_a_machine_wide_knob(tmp_path: Path) -> None:
    d = _daemon(tmp_path)
    a, _ = _client(d)
    b, _ = _client(d)
    first = _ask(d, a, op="open", knob="simulated")
    assert first["ok"] is True
    assert not list(tmp_path.glob("state/state-*.json"))  # it changes nothing outside knobd: nothing to recover
    second = _ask(d, b, op="open", knob="simulated")
    assert second["ok"] is False and f"held by another connection (pid {os.getpid()})" in second["error"]
    assert _ask(d, a, op="restore", id=first["id"]) == {"ok": True}
    assert _ask(d, b, op="open", knob="simulated")["ok"] is True


def test_a_second_cgroup_knob_for_one_process_is_refused(tmp_path: Path) -> None:
    d = _daemon(tmp_path, allow=("cgroup", "simulated"))
    a, _ = _client(d)
    b, _ = _client(d)  # another connection of the same process

    class _Held(SimulatedKnob):
        kind = "cgroup"

    a.knobs[1] = (_Held([1.0]), "none")
    r = _ask(d, b, op="open", knob="cgroup")
    assert r["ok"] is False and f"pid {os.getpid()} has a cgroup knob open already" in r["error"]


def test_the_clients_cgroup_is_named_by_pid_and_start_and_copies_only_its_own_limits(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[CgroupConfig] = []

    class _Seen(CgroupCpuQuota):
        def __init__(self, config: CgroupConfig | None = None) -> None:
            assert config is not None
            seen.append(config)
            raise KnobUnavailable("cgroup", "not built in this test", "none")

    monkeypatch.setattr(cg, "CgroupCpuQuota", _Seen)
    for copy, uid in ((False, os.getuid()), (True, None)):
        d = Knobd(KnobdConfig(socket=tmp_path / "run" / "k.sock", group=GROUP, state_dir=tmp_path / "state",
                              allow=("cgroup",), copy_shared_limits=copy), log=lambda msg: None)
        c, _ = _client(d)
        assert _ask(d, c, op="open", knob="cgroup")["ok"] is False
        assert seen[-1].name == f"alert-{os.getpid()}-{_proc_start(os.getpid())}" and seen[-1].client_uid == uid


def test_knobs_that_act_on_the_calling_process_are_not_offered(tmp_path: Path) -> None:
    for name in ("threads", "cgroup+threads"):
        with pytest.raises(KnobUnavailable, match="act on knobd itself"):
            _daemon(tmp_path, allow=(name,))


def test_a_socket_in_a_missing_directory_names_the_option(tmp_path: Path) -> None:
    d = Knobd(KnobdConfig(socket=tmp_path / "no" / "such" / "k.sock", group=GROUP, state_dir=tmp_path / "s"),
              log=lambda msg: None)
    with pytest.raises(KnobUnavailable, match=r"--socket .*does not exist.*Fix: create it"):
        d._listen()


def test_running_out_of_descriptors_does_not_stop_knobd(tmp_path: Path) -> None:
    class _Full:
        def accept(self) -> None:
            raise OSError(errno.EMFILE, "Too many open files")

    d = _daemon(tmp_path)
    d._accept(_Full(), selectors.DefaultSelector())  # type: ignore[arg-type]
    assert d.clients == {}


def test_a_signal_right_after_the_cgroup_is_made_still_has_it_removed(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    root, proc = tmp_path / "cg", tmp_path / "proc"
    cpu = make_cgroup_v1(root, proc, 4242)

    def made_then_interrupted(path: Path) -> None:
        fake_make_group(path)
        raise KeyboardInterrupt  # what a signal handler raising there looks like

    monkeypatch.setattr(cg, "make_group", made_then_interrupted)
    monkeypatch.setattr(cg, "remove_group", fake_remove_group)
    k = CgroupCpuQuota(CgroupConfig(root=root, proc=proc, pids=(4242,), ncpu=2, name="alert-t"))
    with pytest.raises(KeyboardInterrupt):
        k.prepare()
    assert (cpu / "alert-t").exists()
    k.restore()
    assert not (cpu / "alert-t").exists()


def test_a_process_name_that_is_not_utf8_is_read_and_does_not_stop_knobd(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = ("import ctypes, sys, time\n"
            "ctypes.CDLL(None).prctl(15, ctypes.c_char_p(b'x\\xff) y ('), 0, 0, 0)\n"
            "print('ready', flush=True)\ntime.sleep(30)\n")
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    try:
        assert p.stdout is not None and p.stdout.readline().strip() == b"ready"
        raw = Path(f"/proc/{p.pid}/stat").read_bytes()
        assert b"\xff" in raw  # the name really is not UTF-8
        want = int(raw[raw.rindex(b")") + 2:].split()[19])
        from alert.system.knobd import _proc_uid

        assert _proc_start(p.pid) == want and _proc_uid(p.pid) == os.geteuid()
        d = _daemon(tmp_path)
        assert d._authorised(p.pid, os.getuid() + 12345, -1) in (True, False)  # answers, does not raise
    finally:
        p.kill()
        p.wait()


class _Stuck(SimulatedKnob):
    def restore(self) -> None:
        raise OSError("read-only file system")


def test_a_machine_wide_kind_whose_restore_failed_is_not_handed_out_again(tmp_path: Path, wide: Path) -> None:
    d = _daemon(tmp_path)
    a, _ = _client(d)
    a.knobs[1] = (_Stuck([0.5, 1.0]), "none")
    d._drop_client(a, selectors.DefaultSelector(), "test")
    b, _ = _client(d)
    r = _ask(d, b, op="open", knob="simulated")
    assert r["ok"] is False and "could not be restored" in r["error"] and "restarts knobd" in r["error"]


def test_a_per_process_knob_whose_restore_failed_does_not_block_others(tmp_path: Path) -> None:
    """A client that makes its own cgroup knob's restore fail (e.g. by removing its cgroup) must not
    take the knob from every other client until knobd restarts; its own uid gets no new one while
    the restore is pending (nothing piles up), and knobd retries it until it succeeds."""
    class _Later(SimulatedKnob):
        fail = True

        def restore(self) -> None:
            if _Later.fail:
                raise OSError("the process's cgroup is gone")
            super().restore()

    d = _daemon(tmp_path)
    a, _ = _client(d)
    a.knobs[1] = (_Later([0.5, 1.0]), "none")  # the simulated knob is not machine-wide
    d._drop_client(a, selectors.DefaultSelector(), "test")
    assert not d._stuck and len(d._pending) == 1
    uid, knob, name = d._pending[0]
    d._pending[0] = (uid + 1, knob, name)  # another user's pending restore: this one is served
    b, _ = _client(d)
    got = _ask(d, b, op="open", knob="simulated")
    assert got["ok"] is True and _ask(d, b, op="restore", id=got["id"]) == {"ok": True}
    d._pending[0] = (uid, knob, name)  # its own: refused until the restore is done
    same, _ = _client(d)
    r = _ask(d, same, op="open", knob="simulated")
    assert r["ok"] is False and "could not be restored yet" in r["error"]
    d._retry_pending(now=1e9)  # still failing: kept
    assert len(d._pending) == 1
    assert d._wait == 10.0  # failed again: tried less often (5 s, then 10, ... up to 300)
    d._retry_pending(now=1e9 + 9)  # too soon: not tried
    assert d._retried == 1e9
    _Later.fail = False
    d._retry_pending(now=2e9)
    assert not d._pending and d._wait == 5.0 and _ask(d, same, op="open", knob="simulated")["ok"] is True


def test_a_state_file_recovery_could_not_undo_blocks_its_client_until_a_retry_does(tmp_path: Path) -> None:
    import alert.system.knobd as kd

    d = _daemon(tmp_path)
    d._leftover = {"state-123.json": os.getuid()}  # what recover() keeps when a restore at start fails
    c, _ = _client(d)
    r = _ask(d, c, op="open", knob="simulated")
    assert r["ok"] is False and "could not be restored yet" in r["error"]
    (tmp_path / "state").mkdir(mode=0o700)
    (tmp_path / "state" / "state-123.json").write_text(json.dumps({"pid": 123, "knobs": [], "client_uid": 7}))
    from alert.system.statedir import StateDir

    with StateDir(tmp_path / "state", create=False) as sd:
        assert kd._state_info(sd, "state-123.json") == (7, set())
    d._retry_pending(now=1e9)  # nothing left to undo in it: restored, removed, the uid served again
    assert not d._leftover and not (tmp_path / "state" / "state-123.json").exists()
    assert _ask(d, c, op="open", knob="simulated")["ok"] is True


@pytest.fixture
def wide(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The simulated knob as a machine-wide one, and root's lock directory in tmp_path."""
    import alert.system.knobd as kd

    lockdir = tmp_path / "root-state"
    monkeypatch.setattr(SimulatedKnob, "machine_wide", True)
    monkeypatch.setattr(kd, "_default_lock_dir", lambda: lockdir)
    return lockdir


def _root_run_can_lock(lockdir: Path) -> bool:
    from alert.system.statedir import StateDir

    with StateDir(lockdir, create=True) as d:
        return d.lock()


def test_knobd_holds_roots_machine_wide_lock_while_a_client_holds_such_a_knob(tmp_path: Path, wide: Path) -> None:
    d = _daemon(tmp_path)
    a, _ = _client(d)
    r = _ask(d, a, op="open", knob="simulated")
    assert r["ok"] is True and not _root_run_can_lock(wide)  # a root alert run is kept out meanwhile
    assert _ask(d, a, op="restore", id=r["id"]) == {"ok": True}
    assert _root_run_can_lock(wide)
    from alert.system.statedir import StateDir

    with StateDir(wide, create=True) as root_run:  # and the other way round
        assert root_run.lock()
        b, _ = _client(d)
        refused = _ask(d, b, op="open", knob="simulated")
        assert refused["ok"] is False and "an alert run as root on this machine holds" in refused["error"]


def test_a_failing_recapture_gives_the_lock_back(tmp_path: Path, wide: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def flaky(self: SimulatedKnob) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise OSError("EIO reading sysfs")

    monkeypatch.setattr(SimulatedKnob, "recapture", flaky)
    d = _daemon(tmp_path)
    a, _ = _client(d)
    assert "EIO" in _ask(d, a, op="open", knob="simulated")["error"]
    assert _root_run_can_lock(wide)
    assert _ask(d, a, op="open", knob="simulated")["ok"] is True


def test_a_knob_whose_restore_failed_keeps_roots_lock(tmp_path: Path, wide: Path) -> None:
    class _Stuck(SimulatedKnob):
        def restore(self) -> None:
            raise OSError("read-only file system")

    d = _daemon(tmp_path)
    a, _ = _client(d)
    r = _ask(d, a, op="open", knob="simulated")
    a.knobs[r["id"]] = (_Stuck([0.5, 1.0]), a.knobs[r["id"]][1])
    d._drop_client(a, selectors.DefaultSelector(), "test")
    assert not _root_run_can_lock(wide)  # root's runs would snapshot the unrestored setting
    d._machine_lock.close()


def test_recovery_leaves_only_per_process_knobs_to_the_retries(tmp_path: Path, wide: Path) -> None:
    """A cgroup state file that recovery could not undo blocks its client's uid and is retried
    while knobd runs; a machine-wide one waits for the next start (which holds root's lock)."""
    d = _daemon(tmp_path)
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    for pid, uid, knob in ((999_991, 5, {"kind": "cgroup", "version": "v2", "mount": "/nowhere", "path": "/nowhere/alert-x",
                                          "origins": {}}),
                           (999_992, 6, {"kind": "rapl", "zone": "/nowhere", "files": {}})):
        (state / f"state-{pid}.json").write_text(json.dumps({"pid": pid, "client_uid": uid, "knobs": [knob]}))
    d.recover()
    assert d._leftover == {"state-999991.json": 5}
