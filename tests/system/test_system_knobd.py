"""``alert knobd`` for real: a user in its group changes a cgroup quota through it, a user outside
the group is refused, killing the client restores the quota, and a knobd killed with SIGKILL
restores on its next start. Needs root, useradd and a writable cgroup hierarchy (skipped
otherwise); the users, group, cgroups and files it creates are removed afterwards."""

from __future__ import annotations

import grp
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from _users import SRC, User, can_create_users, run_as, temp_users

from alert.system.cgroup import detect
from alert.system.errors import KnobUnavailable

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.hardware


def _writable_cgroups() -> bool:
    try:
        _, mount = detect(Path("/sys/fs/cgroup"))
        probe = mount / f"alert-probe-{os.getpid()}"
        os.mkdir(probe)
        os.rmdir(probe)
        return True
    except (KnobUnavailable, OSError):
        return False


PRELUDE = """
import json, os, socket, time, errno, selectors, struct
import alert.system.knobd, alert.system.registry, alert.system.cgroup, alert.system.threads, alert.safeio
from alert.system.registry import KnobOptions, make_knob
from alert.system.errors import KnobUnavailable
"""

RUN_PRELUDE = """
import csv, math, warnings, platform, threading, queue
import numpy, torch
import alert.cli, alert.runtime, alert.evaluation.schemes, alert.controller, alert.profile, alert.goals
import alert.system.guard, alert.system.meters, alert.system.statedir, alert.nn, alert.nn.anytime, alert.nn.families
alert.cli.build_parser()
import importlib.util as _u
_s = _u.spec_from_file_location("m", MODELS); _m = _u.module_from_spec(_s); _s.loader.exec_module(_m); _m.models()
"""

CLIENT = """
k = make_knob("cgroup", KnobOptions(period_us=4000, via={sock!r}))
k.prepare()
k.apply(0.5)
print(json.dumps({{"pid": os.getpid(), "path": str(k.path), "read": k.read()}}), flush=True)
time.sleep(120)
"""


def _daemon(sock: Path, group: str, state: Path) -> subprocess.Popen[str]:
    p = subprocess.Popen([sys.executable, "-m", "alert", "knobd", "--socket", str(sock), "--group", group,
                          "--state-dir", str(state)], env=dict(os.environ, PYTHONPATH=SRC),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t0 = time.monotonic()
    while not sock.is_socket():
        if p.poll() is not None or time.monotonic() - t0 > 60:
            p.kill()
            raise AssertionError(f"knobd did not start: {p.communicate()[1][-2000:]}")
        time.sleep(0.05)
    return p


def _client(user: User, sock: Path) -> tuple[subprocess.Popen[str], dict]:
    from _users import DROP

    code = (f"import sys\nsys.path.insert(0, {SRC!r})\n{DROP}\n{PRELUDE}\n"
            f"_drop({user.uid}, {user.gid}, {list(user.groups)!r})\n{CLIENT.format(sock=str(sock))}")
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stdout is not None
    line = p.stdout.readline()
    if not line:
        p.kill()
        raise AssertionError(f"client failed: {p.communicate()[1][-2000:]}")
    return p, json.loads(line)


def _stop(procs: list[subprocess.Popen[str]]) -> None:
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait()


def _wait_gone(path: Path, timeout: float = 10.0) -> bool:
    t0 = time.monotonic()
    while path.exists() and time.monotonic() - t0 < timeout:
        time.sleep(0.05)
    return not path.exists()


@pytest.mark.skipif(not (_writable_cgroups() and can_create_users()),
                    reason="needs root, useradd and a writable cgroup hierarchy")
def test_knobd_for_real_two_users_a_killed_client_and_a_killed_knobd() -> None:
    _, mount = detect(Path("/sys/fs/cgroup"))
    base = Path(tempfile.mkdtemp(prefix="alert-knobd-", dir="/tmp"))
    os.chmod(base, 0o755)
    sock, state = base / "run" / "knobd.sock", base / "state"
    procs: list[subprocess.Popen[str]] = []
    groups: list[Path] = []
    try:
        with temp_users(2, group="alrtkd", members=1) as (users, gid):
            try:
                member, outsider = users
                assert gid is not None
                gname = grp.getgrgid(gid).gr_name
                d = _daemon(sock, gname, state)
                procs.append(d)
                # a member of the group: the quota is set in alert-<its pid>-<its start time>, the process is in it
                c, info = _client(member, sock)
                procs.append(c)
                g = Path(info["path"])
                groups.append(g)
                assert g.parent == mount and g.name.startswith(f"alert-{info['pid']}-") and info["read"] == pytest.approx(0.5)
                assert (g / "cpu.cfs_quota_us").read_text().strip() == "2000"
                assert (g / "cpu.cfs_period_us").read_text().strip() == "4000"
                assert str(info["pid"]) in (g / "cgroup.procs").read_text().split()
                assert len(list(state.glob("state-*.json"))) == 1
                # `alert run --knob cgroup --via SOCKET` as that user, end to end (a few random inputs)
                logdir = base / "log"
                logdir.mkdir()
                os.chown(logdir, member.uid, member.gid)
                run = run_as(member, f"""
    from alert.cli import main
    rc = main(["run", "--profile", {str(ROOT / 'examples' / 'cpu-quota.json')!r}, "--goal", "max-accuracy:deadline=0.05",
               "--models", {str(ROOT / 'examples' / 'cpu-quota-models.py') + ':models'!r}, "--knob", "cgroup",
               "--via", {str(sock)!r}, "--cfs-period-us", "4000", "--data", "random", "--inputs", "12", "--batch", "4",
               "--threads", "1", "--log", {str(logdir / 'run.csv')!r}, "--json"])
    print(json.dumps({{"rc": rc, "uid": os.getuid()}}))
    """, PRELUDE + f"MODELS = {str(ROOT / 'examples' / 'cpu-quota-models.py')!r}\n" + RUN_PRELUDE, timeout=300)
                assert run.stdout.strip(), run.stderr[-3000:]
                res = json.loads(run.stdout.strip().splitlines()[-1])
                assert res == {"rc": 0, "uid": member.uid}, run.stderr[-3000:]
                rows = (logdir / "run.csv").read_text().splitlines()
                assert len(rows) == 13 and "setting_value" in rows[0]
                # someone outside the group cannot reach it
                r = run_as(outsider, f"""
    try:
        make_knob("cgroup", KnobOptions(period_us=4000, via={str(sock)!r}))
        print(json.dumps({{"error": None}}))
    except KnobUnavailable as e:
        print(json.dumps({{"error": str(e)}}))
    """, PRELUDE)
                err = json.loads(r.stdout.strip().splitlines()[-1])["error"]
                assert err and "cannot connect" in err and "Permission denied" in err and "group" in err, err
                # the client dies: knobd restores its quota (the cgroup goes) and drops the state file
                c.kill()
                c.wait()
                assert _wait_gone(g), "knobd did not restore the knob of a killed client"
                t0 = time.monotonic()
                while list(state.glob("state-*.json")) and time.monotonic() - t0 < 5:
                    time.sleep(0.05)
                assert list(state.glob("state-*.json")) == []
                # knobd itself is killed while a client holds a quota: the next knobd restores it on start
                c2, info2 = _client(member, sock)
                procs.append(c2)
                g2 = Path(info2["path"])
                groups.append(g2)
                d.kill()
                d.wait()
                assert g2.exists() and len(list(state.glob("state-*.json"))) == 1
                d2 = _daemon(sock, gname, state)
                procs.append(d2)
                assert _wait_gone(g2), "a restarted knobd did not restore what the killed one left"
                assert list(state.glob("state-*.json")) == []
                assert str(info2["pid"]) in (mount / "cgroup.procs").read_text().split()  # moved back home
                d2.send_signal(signal.SIGTERM)
                assert d2.wait(timeout=20) == 0
                assert not sock.exists()
            finally:
                _stop(procs)  # before the users go: userdel refuses a user with running processes
    finally:
        _stop(procs)
        for g in groups:  # only if a failed assertion left one
            if g.exists():
                for i in (g / "cgroup.procs").read_text().split():
                    try:
                        (mount / "cgroup.procs").write_text(i)
                    except OSError:
                        pass
                os.rmdir(g)
        shutil.rmtree(base, ignore_errors=True)
