"""Reading files that come from outside: one place that turns every way a read can fail into
the project's own error, naming the file, the field and the fix.

* :func:`read_bytes` refuses FIFOs, devices, sockets and directories (it opens with
  ``O_NONBLOCK`` and checks the type before reading, so a FIFO never hangs), caps the size, and
  maps OS errors (missing, permission, is a directory...) and memory errors;
* :func:`loads_json` maps decode errors, syntax errors and nesting too deep for the parser, and
  rejects duplicate keys (JSON allows them; they silently hide one of the values);
* :func:`read_json` and :func:`read_text` put the two together.

``err`` is the error class of the caller (``ProfileError``, ``TraceError``...): any class built
as ``err(source, field, problem, fix)``.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: the largest input file read whole (profiles, goals, headers, logs): 256 MiB
MAX_FILE_BYTES = 256 << 20


class InputError(ValueError):
    """A malformed input. The message names the file, the field and the fix."""

    def __init__(self, source: str | None, field: str, problem: str, fix: str = "") -> None:
        self.source = source or "<input>"
        self.field = field
        self.problem = problem
        self.fix = fix
        msg = f"{self.source}: field '{field}': {problem}"
        if fix:
            msg += f". Fix: {fix}"
        super().__init__(msg)


ErrorFactory = Callable[[str, str, str, str], Exception]


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def os_problem(e: OSError) -> tuple[str, str]:
    """(problem, fix) of an OS error on an input file."""
    if e.errno == errno.ENOENT:
        return "file not found", "check the path"
    if e.errno in (errno.EACCES, errno.EPERM):
        return "permission denied", "make the file readable by this user"
    if e.errno == errno.EISDIR:
        return "is a directory", "give a file, not a directory"
    if e.errno == errno.ENOTDIR:
        return "a component of the path is not a directory", "check the path"
    if e.errno == errno.ELOOP:
        return "too many levels of symbolic links", "check the path"
    if e.errno == errno.ENAMETOOLONG:
        return "the path is too long", "check the path"
    return f"cannot be read ({e.strerror or e})", "check the file"


def open_regular(path: str | Path, err: ErrorFactory = InputError, field: str = "<file>") -> int:
    """A read-only descriptor of ``path`` after checking that it is a regular file."""
    src = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as e:
        problem, fix = os_problem(e)
        raise err(src, field, problem, fix) from None
    except (ValueError, TypeError) as e:  # embedded NUL, not a path
        raise err(src, field, f"not a usable path ({e})", "check the path") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise err(src, field, f"is {_kind(st.st_mode)}", "give a regular file")
    return fd


def read_bytes(path: str | Path, err: ErrorFactory = InputError, max_bytes: int = MAX_FILE_BYTES,
               field: str = "<file>") -> bytes:
    """The bytes of a regular file of at most ``max_bytes``; every failure is ``err``."""
    src = str(path)
    fd = open_regular(path, err, field)
    try:
        size = os.fstat(fd).st_size
        if size > max_bytes:
            raise err(src, field, f"is {size} bytes, more than the {max_bytes} this reader accepts",
                      "check that this is the right file")
        chunks, left = [], max_bytes + 1
        while left > 0:
            b = os.read(fd, min(left, 1 << 20))
            if not b:
                break
            chunks.append(b)
            left -= len(b)
        data = b"".join(chunks)
    except OSError as e:
        problem, fix = os_problem(e)
        raise err(src, field, problem, fix) from None
    except MemoryError:
        raise err(src, field, "too large to read into memory", "check that this is the right file") from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise err(src, field, f"grew past {max_bytes} bytes while being read", "check the file")
    return data


def decode(data: bytes, source: str, err: ErrorFactory = InputError, field: str = "<file>") -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise err(source, field, f"not UTF-8 text (invalid byte at offset {e.start})",
                  "save the file as UTF-8") from None


def read_text(path: str | Path, err: ErrorFactory = InputError, max_bytes: int = MAX_FILE_BYTES,
              field: str = "<file>") -> str:
    """UTF-8 text of a regular file; every failure is ``err``."""
    return decode(read_bytes(path, err, max_bytes, field), str(path), err, field)


class _Duplicate(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise _Duplicate(k)
        out[k] = v
    return out


def loads_json(text: str | bytes, source: str, err: ErrorFactory = InputError, field: str = "<file>") -> Any:
    """Parse JSON; duplicate keys, bad UTF-8, syntax errors and too deep nesting are ``err``."""
    if isinstance(text, bytes):
        text = decode(text, source, err, field)
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates)
    except _Duplicate as d:
        raise err(source, field, f"duplicate key {d.key!r} (JSON keeps only one of the values)",
                  "give every key once") from None
    except json.JSONDecodeError as e:
        raise err(source, field, f"not valid JSON ({e.msg} at line {e.lineno} column {e.colno})",
                  "fix the JSON syntax") from None
    except RecursionError:
        raise err(source, field, "nested too deeply to parse", "flatten the document") from None
    except MemoryError:
        raise err(source, field, "too large to parse", "check that this is the right file") from None
    except ValueError as e:  # an integer literal longer than Python converts (4300 digits)
        raise err(source, field, f"holds a number too long to read ({'more than 4300 digits' if 'digits' in str(e) else str(e)[:80]})",
                  "write numbers with at most a few dozen digits") from None


def read_json(path: str | Path, err: ErrorFactory = InputError, max_bytes: int = MAX_FILE_BYTES,
              field: str = "<file>") -> Any:
    """Parse a JSON file with every check of :func:`read_bytes` and :func:`loads_json`."""
    return loads_json(read_bytes(path, err, max_bytes, field), str(path), err, field)


def load_torch(path: str | Path, what: str = "weights", fix: str = "point at a file written by `alert train`",
               map_location: Any = "cpu", max_bytes: int = 4 << 30) -> Any:
    """``torch.load(path, weights_only=True)`` of a regular file: tensors and plain containers only,
    never arbitrary Python objects (a pickle cannot run code). Every failure is a ValueError (or
    FileNotFoundError) naming the file and the fix."""
    import pickle
    import zipfile

    import torch

    src = str(path)
    fd = open_regular(path, InputError)  # refuses FIFOs, devices, directories; names missing files
    try:
        size = os.fstat(fd).st_size
    finally:
        os.close(fd)
    if size > max_bytes:
        raise InputError(src, "<file>", f"is {size} bytes, more than {max_bytes} for {what}", fix)
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InputError(src, "<file>", f"not loadable as {what} without running code it contains ({first[:200]})",
                         f"{fix}; alert never unpickles arbitrary objects") from None
    except (RuntimeError, EOFError, ValueError, zipfile.BadZipFile, OSError, KeyError, AttributeError,
            TypeError, IndexError) as e:
        raise InputError(src, "<file>", f"not a readable {what} file ({type(e).__name__}: {str(e)[:200]})",
                         fix) from None
    except MemoryError:
        raise InputError(src, "<file>", "too large to load", fix) from None
