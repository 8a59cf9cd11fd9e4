"""Run test code as root or as a second, unprivileged user (created for the test, removed after).

The interpreter lives under /root, which other users cannot enter, so a child process starts as
root, imports what it needs, and then drops to the user for good (``setgroups``, ``setresgid``,
``setresuid``) before it does anything the test looks at: from there on it is that user.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[2] / "src")


@dataclass(frozen=True)
class User:
    name: str
    uid: int
    gid: int
    groups: tuple[int, ...] = ()


ROOT = User("root", 0, 0)


def can_create_users() -> bool:
    return os.geteuid() == 0 and shutil.which("useradd") is not None and shutil.which("userdel") is not None


@contextmanager
def temp_users(n: int, group: str | None = None, members: int = 0) -> Iterator[tuple[list[User], int | None]]:
    """``n`` new system users (no home, no login); with ``group``, a new group holding the first
    ``members`` of them. Everything is removed afterwards. Skips when users cannot be created."""
    if not can_create_users():
        pytest.skip("creating users needs root and useradd")
    _remove_stale()
    tag = f"{os.getpid()}"
    names, gid = [], None
    try:
        if group is not None:
            gname = f"{group}{tag}"[:31]
            subprocess.run(["groupadd", "-r", gname], check=True, capture_output=True)
            gid = grp.getgrnam(gname).gr_gid
        users = []
        for i in range(n):
            name = f"alrt{tag}u{i}"
            subprocess.run(["useradd", "-r", "-M", "-s", "/usr/sbin/nologin", "-d", "/nonexistent", name],
                           check=True, capture_output=True)
            names.append(name)
            pw = pwd.getpwnam(name)
            extra = (gid,) if gid is not None and i < members else ()
            users.append(User(name, pw.pw_uid, pw.pw_gid, extra))
        yield users, gid
    finally:
        for name in names:
            subprocess.run(["userdel", name], capture_output=True)
        if group is not None:
            subprocess.run(["groupdel", f"{group}{tag}"[:31]], capture_output=True)


def _remove_stale() -> None:
    """Users and groups left by a test process that was killed before its cleanup ran."""
    import re

    def dead(pid: str) -> bool:
        try:
            os.kill(int(pid), 0)
            return False
        except ProcessLookupError:
            return True
        except OSError:
            return False

    for pw in pwd.getpwall():
        m = re.fullmatch(r"alrt([0-9]+)u[0-9]+", pw.pw_name)
        if m and dead(m.group(1)):
            subprocess.run(["userdel", pw.pw_name], capture_output=True)
    for g in grp.getgrall():
        m = re.fullmatch(r"alrtkd([0-9]+)", g.gr_name)
        if m and dead(m.group(1)):
            subprocess.run(["groupdel", g.gr_name], capture_output=True)


DROP = textwrap.dedent("""
    import os as _os
    def _drop(uid, gid, groups):
        if uid == 0:
            return
        _os.setgroups(list(groups))
        _os.setresgid(gid, gid, gid)
        _os.setresuid(uid, uid, uid)
""")


def run_as(user: User, body: str, prelude: str = "", timeout: float = 120, cwd: str | None = None,
           env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``prelude`` (imports) as root, drop to ``user``, then run ``body``."""
    code = (f"import sys\nsys.path.insert(0, {SRC!r})\n{DROP}\n{textwrap.dedent(prelude)}\n"
            f"_drop({user.uid}, {user.gid}, {list(user.groups)!r})\n{textwrap.dedent(body)}\n")
    e = dict(os.environ)
    e.pop("XDG_RUNTIME_DIR", None)
    e.update(env or {})
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout,
                          cwd=cwd, env=e)


def result(proc: subprocess.CompletedProcess[str]) -> dict:
    """The JSON object a child printed on its last stdout line."""
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    assert lines, f"child printed no result (rc {proc.returncode}): {proc.stdout[-2000:]} {proc.stderr[-3000:]}"
    return json.loads(lines[-1])


def chown_tree(path: Path, user: User) -> None:
    for p in [path, *path.rglob("*")]:
        os.lchown(p, user.uid, user.gid)
