"""The state directory: where a run records its knobs' original state for ``alert restore``.

Rules (docs/system.md, *Security model*):

* the directory is created 0700 and used only when it is a real directory (not a link) owned by
  the invoking user with no group or other write bit; otherwise it is refused, with the fix;
* root uses ``/run/alert`` and never falls back to a shared temporary directory; other users use
  ``$XDG_RUNTIME_DIR/alert`` or ``<tmp>/alert-state-<uid>``;
* every operation goes through a descriptor of the checked directory (``dir_fd``), so the
  directory cannot be swapped for another after the check;
* a state file is written to ``.state-<pid>.tmp`` with ``O_CREAT|O_EXCL|O_NOFOLLOW``, fsynced,
  and linked to ``state-<pid>.json`` (a link never replaces an existing file); the directory is
  fsynced after every change;
* a state file is read only when it is a regular file owned by the invoking user, without group
  or other write, and at most :data:`MAX_STATE_BYTES` long.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import tempfile
from pathlib import Path

from alert.system.errors import SystemLayerError

MAX_STATE_BYTES = 1 << 20
#: ``state-<pid>.json`` (a run) or ``state-<pid>-<n>.json`` (knobd: one per client knob)
STATE_NAME = re.compile(r"state-([0-9]{1,10})(?:-[0-9]{1,10})?\.json")
TMP_NAME = re.compile(r"\.state-([0-9]{1,10})(?:-[0-9]{1,10})?\.tmp")


class StateDirError(SystemLayerError):
    """The state directory or a state file cannot be trusted or used."""


def default_state_dir() -> Path:
    """``/run/alert`` for root (never a shared temporary directory); ``$XDG_RUNTIME_DIR/alert``
    or ``<tmp>/alert-state-<uid>`` for other users."""
    if os.geteuid() == 0:
        return Path("/run/alert")
    xdg = os.environ.get("XDG_RUNTIME_DIR", "")
    if xdg and os.path.isabs(xdg) and os.path.isdir(xdg):
        return Path(xdg) / "alert"
    return Path(tempfile.gettempdir()) / f"alert-state-{os.geteuid()}"


def _fix(path: Path) -> str:
    return (f"remove {path} if you did not create it, or make it yours and private "
            f"(chown {os.geteuid()} {path} && chmod 700 {path}), or pass --state-dir with a directory "
            "that only you can write")


class StateDir:
    """A checked state directory, held open by descriptor. ``create``: make it (0700) when absent."""

    def __init__(self, path: str | Path, create: bool = True) -> None:
        self.path = Path(path)
        self.fd = -1
        self._locked = False
        if create:
            try:
                os.mkdir(self.path, 0o700)
            except FileExistsError:
                pass
            except FileNotFoundError:
                raise StateDirError(str(self.path), "its parent directory does not exist",
                                    "create the parent, or pass --state-dir with an existing parent") from None
            except OSError as e:
                fix = ("make /run writable for root, or pass --state-dir with a directory owned by root "
                       "with mode 0700" if os.geteuid() == 0 else
                       "pass --state-dir with a directory you own (mode 0700)")
                raise StateDirError(str(self.path), f"cannot create the state directory ({e.strerror})", fix) from None
        if self.path.is_symlink():
            raise StateDirError(str(self.path), "is a symbolic link", _fix(self.path))
        try:
            self.fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError as e:
            problem = {errno.ELOOP: "is a symbolic link", errno.ENOTDIR: "is not a directory",
                       errno.ENOENT: "does not exist"}.get(e.errno or 0, f"cannot be opened ({e.strerror})")
            raise StateDirError(str(self.path), problem, _fix(self.path)) from None
        st = os.fstat(self.fd)
        problem = ""
        if st.st_uid != os.geteuid():
            problem = f"is owned by uid {st.st_uid}, not by the invoking user (uid {os.geteuid()})"
        elif st.st_mode & 0o022:
            problem = f"is writable by group or others (mode {stat.S_IMODE(st.st_mode):04o})"
        if problem:
            os.close(self.fd)
            raise StateDirError(str(self.path), problem + "; its state files could be forged", _fix(self.path))

    def close(self) -> None:
        if self.fd >= 0:
            if self._locked:  # unlock first: a forked child's copy of the descriptor must not keep it
                import fcntl

                fcntl.flock(self.fd, fcntl.LOCK_UN)
                self._locked = False
            os.close(self.fd)
            self.fd = -1

    def lock(self) -> bool:
        """Take the exclusive lock on this directory (``flock`` on its descriptor): False when another
        process, or another ``StateDir`` of this one, holds it. It goes with the descriptor
        (``close``, or the process ends, even by SIGKILL): none is ever left stale, and no file is made."""
        import fcntl

        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        except OSError as e:
            raise StateDirError(str(self.path), f"cannot be locked ({e.strerror})",
                                "use a state directory on a local file system (--state-dir)") from None
        self._locked = True
        return True

    def __enter__(self) -> StateDir:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ writing
    def write_state(self, pid: int | str, data: bytes) -> Path:
        """Write ``state-<pid>.json`` without following or replacing anything; fsync file and directory.
        ``pid`` may carry a suffix (``"<pid>-<n>"``) for several files of one process."""
        final, tmp = f"state-{pid}.json", f".state-{pid}.tmp"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(tmp, flags, 0o600, dir_fd=self.fd)
        except FileExistsError:  # an unfinished file of a killed run with this pid: it changed nothing yet
            os.unlink(tmp, dir_fd=self.fd)
            fd = os.open(tmp, flags, 0o600, dir_fd=self.fd)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, final, src_dir_fd=self.fd, dst_dir_fd=self.fd, follow_symlinks=False)
        except FileExistsError:
            os.unlink(tmp, dir_fd=self.fd)
            raise StateDirError(str(self.path / final), "an earlier run with the same process id left its "
                                "state here, so the machine may still hold its settings",
                                "run 'alert restore' first") from None
        os.unlink(tmp, dir_fd=self.fd)
        os.fsync(self.fd)
        return self.path / final

    def remove(self, name: str) -> None:
        os.unlink(name, dir_fd=self.fd)
        os.fsync(self.fd)

    # ------------------------------------------------------------------ reading
    def names(self, newest_first: bool = False) -> list[str]:
        """State files (``state-<pid>.json``) and unfinished ones (``.state-<pid>.tmp``), sorted by
        name, or with ``newest_first`` by the time they were written, newest first (then by name)."""
        names = sorted(n for n in os.listdir(self.fd) if STATE_NAME.fullmatch(n) or TMP_NAME.fullmatch(n))
        if not newest_first:
            return names
        def written(n: str) -> int:
            try:
                return os.stat(n, dir_fd=self.fd, follow_symlinks=False).st_mtime_ns
            except OSError:  # gone meanwhile: its place in the order does not matter
                return 0
        return sorted(names, key=written, reverse=True)

    def read(self, name: str) -> bytes:
        """The bytes of a state file that passes the ownership, type, mode and size checks."""
        where = str(self.path / name)
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=self.fd)
        except OSError as e:
            problem = "is a symbolic link" if e.errno == errno.ELOOP else f"cannot be opened ({e.strerror})"
            raise StateDirError(where, problem, "remove it; alert writes state files as regular files") from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise StateDirError(where, "is not a regular file", "remove it")
            if st.st_uid != os.geteuid():
                raise StateDirError(where, f"is owned by uid {st.st_uid}, not by the invoking user",
                                    "remove it if you did not write it")
            if st.st_mode & 0o022:
                raise StateDirError(where, f"is writable by group or others (mode {stat.S_IMODE(st.st_mode):04o})",
                                    "remove it if you did not write it")
            if st.st_size > MAX_STATE_BYTES:
                raise StateDirError(where, f"is {st.st_size} bytes, more than a state file ever holds "
                                    f"({MAX_STATE_BYTES})", "remove it")
            chunks, left = [], MAX_STATE_BYTES + 1
            while left > 0:
                b = os.read(fd, min(left, 65536))
                if not b:
                    break
                chunks.append(b)
                left -= len(b)
            data = b"".join(chunks)
            if len(data) > MAX_STATE_BYTES:
                raise StateDirError(where, "grew past the size limit while being read", "remove it")
            return data
        finally:
            os.close(fd)
