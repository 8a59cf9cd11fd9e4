"""Reading and writing kernel attribute files (sysfs, cgroupfs) with clear errors.

Every function takes a full path, so tests point them at a temporary directory laid out like
``/sys``. A file with no write bit at all is treated as read-only even for root, as the kernel
does for sysfs attributes without a store method.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from alert.system.errors import KnobUnavailable


def read_text(path: str | Path) -> str:
    """The stripped content of ``path``; a clear error when it is missing or unreadable."""
    p = Path(path)
    try:
        return p.read_text().strip()
    except FileNotFoundError:
        raise KnobUnavailable(str(p), "does not exist", "this kernel interface is absent on this machine") from None
    except PermissionError:
        raise KnobUnavailable(str(p), "permission denied on read",
                              "run as root (sudo) or grant read access to this file") from None


def read_int(path: str | Path) -> int:
    """An integer attribute; names the file when the content is not an integer."""
    text = read_text(path)
    try:
        return int(text.split()[0])
    except (ValueError, IndexError):
        raise KnobUnavailable(str(path), f"expected an integer, found {text!r}",
                              "check that this is the kernel attribute you meant") from None


def check_writable(path: str | Path, dir_fd: int | None = None, where: Path | None = None) -> None:
    """Raise KnobUnavailable unless ``path`` exists and this process may write it (``path`` a name
    in the directory open as ``dir_fd`` when given, ``where`` that directory for messages)."""
    p = Path(path) if where is None else where / path
    try:
        mode = os.stat(path, dir_fd=dir_fd, follow_symlinks=False).st_mode
    except FileNotFoundError:
        raise KnobUnavailable(str(p), "does not exist", "this kernel interface is absent on this machine") from None
    if mode & 0o222 == 0:
        raise KnobUnavailable(str(p), "is read-only (no write permission bit)",
                              "the kernel or firmware does not allow changing it on this machine")
    if not os.access(path, os.W_OK, dir_fd=dir_fd):
        raise KnobUnavailable(str(p), "permission denied on write",
                              "run as root (sudo) or grant write access to this file")


def write_text(path: str | Path, value: str | int, dir_fd: int | None = None, where: Path | None = None) -> None:
    """Write ``value`` to a kernel attribute, turning OS errors into messages that say what to do
    (``path`` a name in the directory open as ``dir_fd`` when given, ``where`` that directory)."""
    p = Path(path) if where is None else where / path
    check_writable(path, dir_fd, where)
    try:
        # never create a file and never follow a link in the last component: kernel attributes
        # exist already and are never links
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
        try:
            os.write(fd, str(value).encode())
        finally:
            os.close(fd)
    except PermissionError:
        raise KnobUnavailable(str(p), "permission denied on write",
                              "run as root (sudo) or grant write access to this file") from None
    except OSError as e:
        if e.errno == errno.EINVAL:
            raise KnobUnavailable(str(p), f"the kernel rejected the value {value!r} (EINVAL)",
                                  "choose a value inside the range the hardware reports") from None
        if e.errno == errno.ELOOP:
            raise KnobUnavailable(str(p), "is a symbolic link", "kernel attributes are never links; "
                                  "remove the link") from None
        if e.errno in (errno.EBUSY, errno.ENODATA, errno.EOPNOTSUPP):
            raise KnobUnavailable(str(p), f"the kernel refused the write ({os.strerror(e.errno)})",
                                  "the interface is disabled or locked by firmware") from None
        raise
