"""Restore on normal exit, exceptions, SIGTERM/SIGINT (real subprocesses) and via state files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from _system_fakes import make_rapl

from alert.system.guard import KnobGuard
from alert.system.rapl import RaplPowerCap
from alert.system.restore import restore_all
from alert.system.roots import SystemRoots

SRC = str(Path(__file__).resolve().parents[2] / "src")


def limit(z: Path) -> str:
    return (z / "constraint_0_power_limit_uw").read_text().strip()


def _rapl_state(state: Path, pid: int, z: Path, uw: int) -> Path:
    """The state file a run with ``pid`` would have left after snapshotting ``uw`` on zone ``z``."""
    f = state / f"state-{pid}.json"
    f.write_text(json.dumps({"pid": pid, "knobs": [{"kind": "rapl", "zone": str(z),
                                                    "files": {"constraint_0_power_limit_uw": uw}}]}))
    os.chmod(f, 0o600)
    return f


def test_guard_restores_on_exception_and_removes_state(tmp_path: Path) -> None:
    z = make_rapl(tmp_path / "pc")
    state = tmp_path / "state"
    with pytest.raises(RuntimeError, match="boom"):
        with KnobGuard([RaplPowerCap(z)], state) as g:
            doc = json.loads(g.state_file.read_text())
            assert doc["pid"] == os.getpid()
            assert doc["knobs"] == [{"kind": "rapl", "zone": str(z),
                                     "files": {"constraint_0_power_limit_uw": 15_000_000}}]
            g.knobs[0].apply(8.0)
            assert limit(z) == "8000000"
            raise RuntimeError("boom")
    assert limit(z) == "15000000"
    assert list(state.iterdir()) == []


def test_guard_keeps_state_when_restore_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              caplog: pytest.LogCaptureFixture) -> None:
    z = make_rapl(tmp_path / "pc")
    k = RaplPowerCap(z)
    with KnobGuard([k], tmp_path / "state") as g:
        k.apply(8.0)
        os.chmod(z / "constraint_0_power_limit_uw", 0o444)
    assert g.state_file.exists()
    # logged: to stderr where the alert CLI set its handler up (earlier tests), else to pytest's log capture
    assert "run 'alert restore'" in capsys.readouterr().err + caplog.text
    os.chmod(z / "constraint_0_power_limit_uw", 0o644)
    res = restore_all(tmp_path / "state", force=True, roots=SystemRoots(powercap=tmp_path / "pc"))
    assert [r.action for r in res] == ["restored"]
    assert limit(z) == "15000000" and not g.state_file.exists()


CHILD = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {src!r})
    from alert.system.guard import KnobGuard
    from alert.system.rapl import RaplPowerCap
    k = RaplPowerCap({zone!r})
    with KnobGuard([k], {state!r}):
        k.apply(9.0)
        print("ready", flush=True)
        time.sleep(30)
""")


def _spawn(tmp_path: Path) -> tuple[subprocess.Popen[str], Path, Path]:
    z = make_rapl(tmp_path / "pc")
    state = tmp_path / "state"
    code = CHILD.format(src=SRC, zone=str(z), state=str(state))
    # the child starts with SIGINT at its default, as a program started from a terminal: a shell
    # runs a background job with SIGINT ignored, which the child would inherit (and the guard,
    # rightly, keeps ignored)
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    assert limit(z) == "9000000"
    return p, z, state


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_real_subprocess_restores_on_signal(tmp_path: Path, sig: int) -> None:
    p, z, state = _spawn(tmp_path)
    p.send_signal(sig)
    p.wait(timeout=20)
    assert limit(z) == "15000000"
    assert list(state.iterdir()) == []
    if sig == signal.SIGTERM:
        assert p.returncode == -signal.SIGTERM  # still dies of the signal after restoring
    else:
        assert "KeyboardInterrupt" in (p.stderr.read() if p.stderr else "")


def test_killed_run_is_undone_by_restore(tmp_path: Path) -> None:
    p, z, state = _spawn(tmp_path)
    p.kill()
    p.wait(timeout=20)
    assert limit(z) == "9000000"  # SIGKILL cannot be caught
    files = list(state.glob("state-*.json"))
    assert len(files) == 1
    time.sleep(0.05)
    res = restore_all(state, roots=SystemRoots(powercap=tmp_path / "pc"))
    assert [r.action for r in res] == ["restored"] and res[0].pid == p.pid
    assert limit(z) == "15000000" and not files[0].exists()


def test_restore_skips_live_process(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (state / f"state-{p.pid}.json").write_text(json.dumps({"pid": p.pid, "knobs": []}))
        assert restore_all(state)[0].action.startswith("skipped")
    finally:
        p.kill()
        p.wait()


SECOND_SIGNAL = textwrap.dedent("""
    import os, signal, sys, time
    sys.path.insert(0, {src!r})
    from alert.system.guard import KnobGuard
    from alert.system.rapl import RaplPowerCap

    class Nagged(RaplPowerCap):
        # restoring it takes a while, and a second SIGTERM arrives in the middle
        def restore(self):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)
            super().restore()

    a, b = RaplPowerCap({za!r}), Nagged({zb!r})
    with KnobGuard([a, b], {state!r}):
        a.apply(9.0)
        b.apply(9.0)
        print("ready", flush=True)
        time.sleep(30)
""")


def test_second_signal_during_restore_does_not_cut_it_short(tmp_path: Path) -> None:
    za, zb = make_rapl(tmp_path / "pa"), make_rapl(tmp_path / "pb")
    state = tmp_path / "state"
    code = SECOND_SIGNAL.format(src=SRC, za=str(za), zb=str(zb), state=str(state))
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    assert limit(za) == limit(zb) == "9000000"
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=20)
    assert p.returncode == -signal.SIGTERM
    assert limit(zb) == "15000000" and limit(za) == "15000000"  # b first (reverse order), then a
    assert list(state.iterdir()) == []


def test_state_file_of_a_run_with_the_same_pid_is_never_replaced(tmp_path: Path) -> None:
    z = make_rapl(tmp_path / "pc")
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    old = state / f"state-{os.getpid()}.json"
    old.write_text('{"pid": 1, "knobs": []}')
    from alert.system.statedir import StateDirError

    with pytest.raises(StateDirError, match="alert restore"):
        with KnobGuard([RaplPowerCap(z)], state):
            pass
    assert old.read_text() == '{"pid": 1, "knobs": []}'
    assert limit(z) == "15000000"
    assert sorted(x.name for x in state.iterdir()) == [old.name]


def test_unfinished_state_file_of_a_dead_run_is_removed_by_restore(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    dead = 4_100_000
    while restore_pid_alive(dead):
        dead += 1
    (state / f".state-{dead}.tmp").write_text('{"pid": ')
    res = restore_all(state)
    assert [r.action.split(" ")[0] for r in res] == ["removed"] and res[0].ok
    assert list(state.iterdir()) == []


def restore_pid_alive(pid: int) -> bool:
    from alert.system.restore import pid_alive

    return pid_alive(pid)


def test_restore_undoes_stacked_runs_newest_first(tmp_path: Path) -> None:
    # run A snapshots the machine's 15 W and sets 8 W; run B then snapshots A's 8 W and sets 5 W;
    # both are killed. Undone oldest first, B's file would be written last and leave 8 W.
    z = make_rapl(tmp_path / "pc")
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    dead = []
    for _ in range(2):
        p = subprocess.Popen([sys.executable, "-c", "pass"])
        p.wait()
        dead.append(p.pid)
    older, newer = sorted(dead, key=lambda pid: f"state-{pid}.json")  # name order is the wrong order
    for pid, uw, t in ((older, 15_000_000, 1_000), (newer, 8_000_000, 2_000)):
        os.utime(_rapl_state(state, pid, z, uw), (t, t))
    (z / "constraint_0_power_limit_uw").write_text("5000000")
    res = restore_all(state, roots=SystemRoots(powercap=tmp_path / "pc"))
    assert [(r.pid, r.action) for r in res] == [(newer, "restored"), (older, "restored")]
    assert limit(z) == "15000000"


def test_one_run_at_a_time_holds_a_machine_wide_knob(tmp_path: Path) -> None:
    from alert.system.errors import KnobUnavailable

    z = make_rapl(tmp_path / "pc")
    state = tmp_path / "state"
    with KnobGuard([RaplPowerCap(z)], state) as first:
        first.knobs[0].apply(8.0)
        # another process's run on the same machine-wide knob is refused before it snapshots 8 W
        code = textwrap.dedent(f"""
            import sys
            sys.path.insert(0, {SRC!r})
            from alert.system.guard import KnobGuard
            from alert.system.rapl import RaplPowerCap
            from alert.system.errors import KnobUnavailable
            from pathlib import Path
            try:
                with KnobGuard([RaplPowerCap(Path({str(z)!r}))], {str(state)!r}):
                    print("entered")
            except KnobUnavailable as e:
                print("refused:", e)
        """)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout
        assert out.startswith("refused:") and "holds the machine-wide settings" in out and "Fix:" in out
        assert limit(z) == "8000000" and len(list(state.glob("state-*.json"))) == 1
    assert limit(z) == "15000000"
    with KnobGuard([RaplPowerCap(z)], state) as again:  # free once the first run restored
        again.knobs[0].apply(9.0)
    assert limit(z) == "15000000" and list(state.glob("state-*.json")) == []
    with pytest.raises(KnobUnavailable, match="machine-wide"):  # in one process too (another guard)
        with KnobGuard([RaplPowerCap(z)], state):
            with KnobGuard([RaplPowerCap(z)], state):
                pass
    assert limit(z) == "15000000"


def test_a_knob_built_while_another_run_held_the_setting_snapshots_the_machines_own(tmp_path: Path) -> None:
    z = make_rapl(tmp_path / "pc")
    state = tmp_path / "state"
    with KnobGuard([RaplPowerCap(z)], state) as first:
        first.knobs[0].apply(8.0)
        late = RaplPowerCap(z)  # built now, it reads 8 W; its guard may only start once the first ends
    with KnobGuard([late], state) as second:
        assert json.loads(second.state_file.read_text())["knobs"][0]["files"] == {"constraint_0_power_limit_uw":
                                                                                   15_000_000}
        late.apply(5.0)
    assert limit(z) == "15000000"


def test_restore_leaves_the_files_alone_while_a_live_run_holds_the_lock(tmp_path: Path) -> None:
    z = make_rapl(tmp_path / "pc")
    state = tmp_path / "state"
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    with KnobGuard([RaplPowerCap(z)], state) as live:  # a killed run's file beside a live run's
        _rapl_state(state, p.pid, z, 15_000_000)
        live.knobs[0].apply(8.0)
        res = restore_all(state, roots=SystemRoots(powercap=tmp_path / "pc"))
        assert res and all(r.action.startswith("skipped (a running alert run holds") for r in res)
        assert p.pid in {r.pid for r in res} and not any(r.ok for r in res)
        assert limit(z) == "8000000"  # the live run's setting stands
    res = restore_all(state, roots=SystemRoots(powercap=tmp_path / "pc"))
    assert [r.action for r in res] == ["restored"] and limit(z) == "15000000"


def test_a_forked_child_does_not_keep_the_lock(tmp_path: Path) -> None:
    from alert.system.statedir import StateDir

    z = make_rapl(tmp_path / "pc")
    state = tmp_path / "state"
    with KnobGuard([RaplPowerCap(z)], state):
        pid = os.fork()
        if pid == 0:  # the child holds a copy of the locked descriptor for a while
            time.sleep(3)
            os._exit(0)
    try:
        with StateDir(state, create=False) as d:
            assert d.lock()  # free as soon as the parent's guard restored
    finally:
        os.waitpid(pid, 0)
