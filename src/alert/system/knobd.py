"""``alert knobd``: a small privileged helper that applies knobs for users who are not root.

It runs as root and listens on a Unix socket whose group decides who may use it (the socket is
``root:GROUP`` mode 0660 in a ``root:GROUP`` 0750 directory; every connection's peer
credentials are checked again: uid 0 or a member of GROUP). Clients speak newline-delimited
JSON, one request per line (at most 64 KiB):

``{"op": "open", "knob": "cgroup", "period_us": 4000, "tids": []}``
    builds an allowlisted knob for the client's own process (the cgroup knob creates
    ``alert-<client pid>-<start time>`` (placed as ``alert.system.cgroup`` says) and moves the client, or only the listed threads of the client);
    answers ``{"ok": true, "id": 1, "kind", "unit", "limits", "available", "path"}``;
``{"op": "prepare" | "read" | "limits" | "restore", "id": 1}``, ``{"op": "apply", "id": 1, "value": 0.5}``
    the :class:`~alert.system.base.Knob` calls; ``apply`` checks the value against the range the
    hardware reports and verifies that the earlier setting still holds.

Errors answer ``{"ok": false, "error": "..."}`` on one line and keep the connection. Nothing
else is exposed: no paths, no processes other than the client's own. The client's pid is pinned
by its start time and owner when it connects and checked again on every request but ``restore``
(a pid reused by another process is refused); one connection at a time holds a machine-wide knob
and a process holds one cgroup knob (a second holder would snapshot the first one's setting as
the original); replies are sent without blocking and a client that does not read them is
dropped; any failing request answers an error instead of ending the daemon (docs/system.md,
knobd).

When a client disconnects or dies, its knobs are restored. Before a knob is prepared, its
snapshot goes to knobd's own state directory (``state-<knobd pid>-<n>.json``, the rules of
:mod:`alert.system.statedir`); on start, knobd restores whatever a previous knobd left there
(it crashed), and on SIGTERM/SIGINT/SIGHUP it restores every client's knobs before it exits.

:class:`RemoteKnob` is the client: a :class:`~alert.system.base.Knob` whose calls go over the
socket (``alert run --knob cgroup --via SOCKET``).
"""

from __future__ import annotations

import errno
import grp
import json
import logging
import os
import selectors
import signal
import socket
import struct
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alert.system.base import Knob
from alert.system.errors import KnobUnavailable, SystemLayerError

DEFAULT_SOCKET = "/run/alert-knobd/knobd.sock"
RETRY_S = 5.0  # how soon a failed restore of a per-process knob is tried again (doubling up to RETRY_MAX_S)
RETRY_MAX_S = 300.0
#: knob kinds whose setting belongs to one process (its own cgroup): a failed restore of one is
#: retried while knobd runs; a machine-wide one waits for the next start, which holds root's lock
PER_PROCESS_KINDS = frozenset({"cgroup"})
DEFAULT_STATE_DIR = "/run/alert-knobd/state"
MAX_LINE = 64 * 1024
MAX_KNOBS_PER_CLIENT = 8
MAX_CLIENTS = 64          # connections at once, all users together
MAX_CLIENTS_PER_UID = 8   # connections at once per user
#: the knobs knobd may offer: the cgroup knob acts on the client's process; the others act on the
#: machine (one connection at a time holds each). Knobs that act on the calling process itself
#: (``threads``, ``cgroup+threads``) would act on knobd and are never offered.
DAEMON_KNOBS = ("cgroup", "rapl", "cpufreq", "nvml-power", "nvml-clocks", "simulated")
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

_log = logging.getLogger(__name__)


# ============================================================================ daemon
@dataclass(frozen=True)
class KnobdConfig:
    """Where knobd listens, which group may use it, which knobs it offers, where it keeps state."""

    socket: Path = Path(DEFAULT_SOCKET)
    group: str = "alert"
    state_dir: Path = Path(DEFAULT_STATE_DIR)
    allow: tuple[str, ...] = ("cgroup",)
    #: copy into a client's quota cgroup the limits it shares with others (its slice's pids.max...)
    #: instead of refusing the knob: each client holding a knob then gets a bound of its own
    copy_shared_limits: bool = False


@dataclass
class _Client:
    sock: socket.socket
    pid: int
    uid: int
    start: int = -1  # the connecting process's start time (clock ticks since boot): pins the pid
    buf: bytes = b""
    knobs: dict[int, tuple[Knob, str]] = field(default_factory=dict)  # id -> (knob, state file name)


class Knobd:
    """The daemon; :meth:`serve` runs until a signal (or ``stop()``)."""

    def __init__(self, config: KnobdConfig, log: Any = None) -> None:
        from alert.system.registry import knob_names

        self.config = config
        self.log = log or (lambda msg: _log.info(f"knobd: {msg}"))
        unknown = [k for k in config.allow if k not in knob_names()]
        if unknown:
            raise KnobUnavailable("knobd --allow", f"unknown knobs {unknown}", f"use some of {knob_names()}")
        unsafe = [k for k in config.allow if k not in DAEMON_KNOBS]
        if unsafe:
            raise KnobUnavailable("knobd --allow", f"{unsafe} cannot be offered by a daemon (a knob that acts on "
                                  "the calling process would act on knobd itself)", f"use some of {list(DAEMON_KNOBS)}")
        try:
            self.gid = grp.getgrnam(config.group).gr_gid
        except KeyError:
            raise KnobUnavailable(f"knobd --group {config.group}", "no such group",
                                  f"create it (groupadd {config.group}) and add the users who may change knobs") from None
        self.clients: dict[int, _Client] = {}
        self._stuck: set[str] = set()  # machine-wide kinds whose restore failed: not handed out until knobd restarts
        # per-process knobs whose restore failed (uid, knob, state file): retried, every RETRY_S at
        # first and less often each time it fails again (up to RETRY_MAX_S), and their owner gets no
        # new one of the kind meanwhile (nothing piles up); state files a recovery at start could
        # not undo block their client's uid likewise (file name -> uid)
        self._pending: list[tuple[int, Knob, str]] = []
        self._retried = 0.0
        self._wait = RETRY_S
        self._leftover: dict[str, int] = {}
        self._machine_lock: Any = None  # root's machine-wide lock, held while any client holds such a knob
        self._machine_refs = 0
        self._accept_failed = -1e9
        self._seq = 0
        self._stop = False
        self._dir: Any = None

    # ------------------------------------------------------------------ state
    def recover(self) -> list[str]:
        """Restore what a previous knobd left in the state directory (it was killed), holding root's
        machine-wide lock meanwhile; while a root run holds it, recovery waits for the next start
        (undoing a machine-wide snapshot now would overwrite that run's setting)."""
        from alert.system.restore import restore_all
        from alert.system.statedir import StateDir

        lock = StateDir(_default_lock_dir(), create=True)
        try:
            if not lock.lock():
                self.log("recovery deferred to the next start: an alert run as root holds the machine-wide settings")
                return []
            results = restore_all(self.config.state_dir, force=True)
            out = [f"{r.file.name}: {r.action}" for r in results]
            # (a machine-wide one is retried only by a later start, which holds root's lock)
            failed = [r.file.name for r in results if not r.ok]
            if failed:
                with StateDir(self.config.state_dir, create=False) as d:
                    left = {n: _state_info(d, n) for n in failed}
                self._leftover = {n: uid for n, (uid, kinds) in left.items() if kinds and kinds <= PER_PROCESS_KINDS}
        finally:
            lock.close()
        for line in out:
            self.log(f"recovered {line}")
        return out

    def _write_state(self, snap: dict[str, Any], client: _Client) -> str:
        from alert.system.statedir import StateDir

        if self._dir is None:
            self._dir = StateDir(self.config.state_dir, create=True)
        self._seq += 1
        doc = {"pid": os.getpid(), "client_pid": client.pid, "client_uid": client.uid, "started": time.time(),
               "argv": sys.argv, "knobs": [snap]}
        path = self._dir.write_state(f"{os.getpid()}-{self._seq}", json.dumps(doc, indent=1).encode())
        return path.name

    def _drop_state(self, name: str) -> None:
        if name and self._dir is not None:
            try:
                self._dir.remove(name)
            except FileNotFoundError:
                pass

    # ------------------------------------------------------------------ socket
    def _listen(self) -> socket.socket:
        path = self.config.socket
        d = path.parent
        try:
            os.mkdir(d, 0o750)
        except FileExistsError:
            pass
        except FileNotFoundError:
            raise KnobUnavailable(f"knobd --socket {path}", f"the directory above {d} does not exist",
                                  "create it, or give a --socket in an existing directory "
                                  f"(default {DEFAULT_SOCKET})") from None
        st = os.lstat(d)
        if st.st_uid != 0 and os.geteuid() == 0 or (st.st_mode & 0o002):
            raise KnobUnavailable(str(d), "is not owned by root or is writable by others",
                                  "use a directory that only root can write for the socket")
        os.chown(d, 0 if os.geteuid() == 0 else -1, self.gid)
        os.chmod(d, 0o750)
        if path.is_socket() or path.is_symlink():
            path.unlink()
        elif path.exists():
            raise KnobUnavailable(str(path), "exists and is not a socket", "remove it or choose another --socket")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            s.bind(str(path))
        finally:
            os.umask(old)
        os.chown(path, 0 if os.geteuid() == 0 else -1, self.gid)
        os.chmod(path, 0o660)
        s.listen(16)
        s.setblocking(False)
        return s

    def _authorised(self, pid: int, uid: int, gid: int) -> bool:
        if uid == 0 or gid == self.gid:
            return True
        try:
            for line in Path(f"/proc/{pid}/status").read_bytes().splitlines():
                if line.startswith(b"Groups:"):
                    return str(self.gid).encode() in line.split()[1:]
        except OSError:
            return False
        return False

    def serve(self) -> None:
        """Recover, listen, answer requests; on a signal restore every client's knobs and exit."""
        rfd, wfd = os.pipe()  # signals first: a SIGTERM from here on stops knobd cleanly
        os.set_blocking(wfd, False)
        old_wakeup = signal.set_wakeup_fd(wfd)
        previous = {s: signal.signal(s, self._on_signal) for s in SIGNALS}
        sel = selectors.DefaultSelector()
        sel.register(rfd, selectors.EVENT_READ, "wake")
        lsock: socket.socket | None = None
        try:
            self.recover()
            lsock = self._listen()
        except BaseException:
            signal.set_wakeup_fd(old_wakeup)
            for s, h in previous.items():
                signal.signal(s, h)
            sel.close()
            os.close(rfd)
            os.close(wfd)
            raise
        sel.register(lsock, selectors.EVENT_READ, None)
        self.log(f"listening on {self.config.socket} (group {self.config.group}, knobs {', '.join(self.config.allow)})")
        try:
            while not self._stop:
                self._retry_pending()
                for key, _ in sel.select(timeout=1.0):
                    if key.data == "wake":
                        os.read(rfd, 4096)
                    elif key.data is None:
                        self._accept(lsock, sel)
                    else:
                        self._readable(key.data, sel)
        finally:
            from alert.system.guard import signals_blocked

            with signals_blocked():
                for c in list(self.clients.values()):
                    self._drop_client(c, sel, "knobd stopping")
                if self._machine_lock is not None:  # (kept by a knob whose restore failed)
                    self._machine_lock.close()
                    self._machine_lock = None
                sel.close()
                lsock.close()
                try:
                    self.config.socket.unlink()
                except OSError:
                    pass
                if self._dir is not None:
                    self._dir.close()
                signal.set_wakeup_fd(old_wakeup)
                for s, h in previous.items():
                    signal.signal(s, h)
                os.close(rfd)
                os.close(wfd)
            self.log("stopped; every client's knobs restored")

    def stop(self) -> None:
        self._stop = True

    def _retry_pending(self, now: float | None = None) -> None:
        """Try again, every RETRY_S, the restores of per-process knobs that failed (e.g. a process
        whose own cgroup was removed stays in its quota cgroup until it can go home or exits)."""
        now = time.monotonic() if now is None else now
        if not (self._pending or self._leftover) or now - self._retried < self._wait:
            return
        self._retried = now
        from alert.system.guard import signals_blocked
        from alert.system.restore import restore_file

        left = []
        for uid, knob, name in self._pending:
            try:
                with signals_blocked():
                    knob.restore()
                    self._drop_state(name)
                self.log(f"restored {knob.kind} of uid {uid} on a later try")
            except Exception:
                left.append((uid, knob, name))
        for name in list(self._leftover):
            try:
                done = restore_file(self.config.state_dir / name, force=True).ok
            except Exception:
                done = False
            if done:
                self.log(f"recovered {name} on a later try")
                del self._leftover[name]
        self._wait = RETRY_S if len(left) < len(self._pending) else min(RETRY_MAX_S, 2 * self._wait)
        self._pending = left

    def _on_signal(self, signum: int, frame: Any) -> None:
        self._stop = True

    def _accept(self, lsock: socket.socket, sel: selectors.BaseSelector) -> None:
        try:
            conn, _ = lsock.accept()
        except BlockingIOError:
            return
        except OSError as e:  # out of descriptors (EMFILE, ENFILE) or a connection gone: knobd carries on
            now = time.monotonic()
            if now - self._accept_failed > 10.0:
                self.log(f"could not accept a connection: {e}")
            self._accept_failed = now
            if e.errno in (errno.EMFILE, errno.ENFILE):
                time.sleep(0.05)  # the connection stays queued: do not spin on it
            return
        try:
            pid, uid, gid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                                struct.calcsize("3i")))
            start = _proc_start(pid)
            owner = _proc_uid(pid)
        except OSError as e:
            self.log(f"refused a connection: its process cannot be read ({e})")
            _refuse(conn, "knobd cannot see the connecting process (another pid namespace, or it exited)",
                    "connect from a process in knobd's pid namespace (e.g. not from inside a container)")
            return
        if owner != uid:  # the credentials and /proc disagree: not the process that connected
            conn.close()
            return
        refusal = None
        if not self._authorised(pid, uid, gid):
            refusal = (f"uid {uid} is not in group {self.config.group}",
                       f"ask the administrator to add you to {self.config.group}")
        elif len(self.clients) >= MAX_CLIENTS:
            refusal = (f"knobd serves {MAX_CLIENTS} connections at once", "try again when one has ended")
        elif sum(cl.uid == uid for cl in self.clients.values()) >= MAX_CLIENTS_PER_UID:
            refusal = (f"uid {uid} holds {MAX_CLIENTS_PER_UID} connections already", "close one of them first")
        if refusal is not None:
            self.log(f"refused pid {pid} uid {uid}: {refusal[0]}")
            _refuse(conn, *refusal)
            return
        conn.setblocking(False)
        c = _Client(conn, pid, uid, start)
        self.clients[conn.fileno()] = c
        sel.register(conn, selectors.EVENT_READ, c)

    def _readable(self, c: _Client, sel: selectors.BaseSelector) -> None:
        try:
            data = c.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._drop_client(c, sel, "disconnected")
            return
        c.buf += data
        while b"\n" in c.buf:
            line, c.buf = c.buf.split(b"\n", 1)
            if not self._reply(c, self._handle(c, line)):
                self._drop_client(c, sel, "not reading its replies")
                return
        if len(c.buf) > MAX_LINE:
            self._reply(c, {"ok": False, "error": f"request longer than {MAX_LINE} bytes"})
            self._drop_client(c, sel, "oversized request")

    def _reply(self, c: _Client, msg: dict[str, Any]) -> bool:
        """Send one reply without blocking; False when the client's socket cannot take it whole
        (a client that sends requests without reading the replies): the caller drops it, so
        one client never holds up the others, nor knobd's restores on a signal."""
        data = json.dumps(msg).encode() + b"\n"
        try:
            return c.sock.send(data) == len(data)
        except OSError:
            return False

    def _drop_client(self, c: _Client, sel: selectors.BaseSelector, why: str) -> None:
        from alert.system.guard import signals_blocked

        with signals_blocked():
            for kid, (knob, name) in list(c.knobs.items()):
                restored = False
                try:
                    knob.restore()
                    self._drop_state(name)
                    restored = True
                    self.log(f"restored {knob.kind} of pid {c.pid} ({why})")
                except Exception as e:  # state file kept: the next knobd start retries
                    if knob.machine_wide:  # (a process's own cgroup leaves no setting a next holder would take)
                        self._stuck.add(knob.kind)
                    else:
                        self._pending.append((c.uid, knob, name))
                    self.log(f"could not restore {knob.kind} of pid {c.pid}: {e}; state kept in {name}")
                del c.knobs[kid]
                self._unlock(knob, restored)
        try:
            sel.unregister(c.sock)
        except (KeyError, ValueError):
            pass
        self.clients.pop(c.sock.fileno(), None)
        c.sock.close()

    # ------------------------------------------------------------------ requests
    def _handle(self, c: _Client, line: bytes) -> dict[str, Any]:
        from alert.safeio import InputError, loads_json

        try:
            req = loads_json(line, "request")
            if not isinstance(req, dict) or not isinstance(req.get("op"), str):
                raise InputError("request", "op", "missing", 'send {"op": ...}')
            op = req["op"]
            if op != "restore":  # giving a knob back needs no live process; everything else does
                self._same_process(c)
            if op == "open":
                return self._open(c, req)
            knob, name = self._knob(c, req)
            if op == "prepare":
                prep = getattr(knob, "prepare", None)
                if prep is not None:
                    prep()
                return {"ok": True}
            if op == "apply":
                v = req.get("value")
                try:
                    if isinstance(v, bool) or not isinstance(v, (int, float)):
                        raise TypeError
                    value = float(v)
                except (TypeError, OverflowError):
                    raise InputError("request", "value", f"{str(v)[:40]!r} is not a number a float can hold",
                                     "send the setting as a number in the knob's limits") from None
                return {"ok": True, "changed": bool(knob.apply(value))}
            if op == "read":
                return {"ok": True, "value": knob.read()}
            if op == "limits":
                lo, hi = knob.limits()
                return {"ok": True, "limits": [lo, hi], "available": knob.available()}
            if op == "verify":
                knob.verify()
                return {"ok": True}
            if op == "restore":
                from alert.system.guard import signals_blocked

                with signals_blocked():
                    knob.restore()
                    self._drop_state(name)
                    del c.knobs[int(req["id"])]
                    self._unlock(knob)
                return {"ok": True}
            raise InputError("request", "op", f"unknown operation {op!r}",
                             "use open, prepare, apply, read, limits, verify or restore")
        except (SystemLayerError, ValueError, OSError) as e:
            return {"ok": False, "error": " ".join(str(e).split())[:2000]}
        except Exception as e:  # one request never stops the daemon that restores everyone's knobs
            self.log(f"request of pid {c.pid} failed: {type(e).__name__}: {e}")
            return {"ok": False, "error": f"knobd could not carry out the request ({type(e).__name__}). "
                                          "Fix: check the request against docs/system.md (knobd); knobd's log has more"}

    def _lock_machine(self, knob: Knob) -> None:
        """Hold the lock root's own runs take for machine-wide settings (``KnobGuard`` on the default
        state directory) while any client holds a machine-wide knob, so that a knobd client and an
        ``alert run`` as root never hold one setting at once; one lock for all of knobd, counted
        per knob (which client holds which kind is ``_open``'s rule). Then read the original
        again, with the lock held."""
        from alert.safeio import InputError
        from alert.system.statedir import StateDir

        if self._machine_lock is None:
            d = StateDir(_default_lock_dir(), create=True)
            if not d.lock():
                d.close()
                raise InputError("request", "knob", f"an alert run as root on this machine holds the machine-wide "
                                 f"settings ({knob.kind})", "wait until it has ended")
            self._machine_lock = d
        self._machine_refs += 1
        try:
            knob.recapture()
        except BaseException:
            self._release_machine()
            raise

    def _release_machine(self) -> None:
        self._machine_refs = max(0, self._machine_refs - 1)
        if self._machine_refs == 0 and self._machine_lock is not None:
            self._machine_lock.close()
            self._machine_lock = None

    def _unlock(self, knob: Knob, restored: bool = True) -> None:
        """Give back a machine-wide knob's share of the lock once it is gone; one whose restore
        failed keeps it until knobd exits (root's runs would otherwise snapshot the unrestored setting)."""
        if knob.machine_wide and restored:
            self._release_machine()

    def _same_process(self, c: _Client) -> None:
        """Refuse when the pid that connected is no longer the process that connected (it exited
        and the pid was reused, or it changed owner): a knob must never act on someone else."""
        from alert.safeio import InputError

        try:
            same = _proc_start(c.pid) == c.start and _proc_uid(c.pid) == c.uid
        except OSError:
            same = False
        if not same:
            raise InputError("request", "op", f"the process that connected (pid {c.pid}) has exited",
                             "connect again from the process whose knob it is")

    def _knob(self, c: _Client, req: dict[str, Any]) -> tuple[Knob, str]:
        from alert.safeio import InputError

        kid = req.get("id")
        if isinstance(kid, bool) or not isinstance(kid, int) or kid not in c.knobs:
            raise InputError("request", "id", f"{kid!r} is not a knob this connection opened", "open one first")
        return c.knobs[kid]

    def _open(self, c: _Client, req: dict[str, Any]) -> dict[str, Any]:
        from alert.safeio import InputError
        from alert.system.registry import KnobOptions, make_knob

        name = req.get("knob")
        if name not in self.config.allow:
            raise InputError("request", "knob", f"{name!r} is not offered here",
                             f"use one of {list(self.config.allow)} (knobd --allow)")
        if len(c.knobs) >= MAX_KNOBS_PER_CLIENT:
            raise InputError("request", "knob", "too many knobs on one connection", "restore some first")
        from alert.system.registry import knob_entry

        kind = knob_entry(name).kind
        if kind in self._stuck:  # a new holder would take the unrestored setting as the original
            raise InputError("request", "knob", f"an earlier {name} setting could not be restored",
                             "the administrator restarts knobd, which retries the restore from its state file")
        holders = [cl for cl in self.clients.values() if any(k.kind == kind for k, _ in cl.knobs.values())]
        if any(uid == c.uid and k.kind == kind for uid, k, _ in self._pending) or c.uid in self._leftover.values():
            raise InputError("request", "knob", f"an earlier {name} knob of uid {c.uid} could not be restored yet "
                             "(knobd retries it every few seconds)", "let that process go back to a cgroup of its "
                             "own, or exit; then open the knob again")
        if name == "cgroup" and any(cl.pid == c.pid for cl in holders):
            # a second one would snapshot the first one's cgroup as the process's home
            raise InputError("request", "knob", f"pid {c.pid} has a cgroup knob open already",
                             "use that one, or restore it first")
        if name != "cgroup" and holders:
            # the machine has one such setting: a second holder would snapshot the first one's value
            # as the original, and whichever restored last would leave the machine changed
            raise InputError("request", "knob", f"{name} is held by another connection (pid {holders[0].pid})",
                             "wait until it is restored")
        period = req.get("period_us", 100_000)
        tids = req.get("tids", [])
        if not isinstance(tids, list) or len(tids) > 64 or not all(isinstance(t, int) and not isinstance(t, bool)
                                                                    for t in tids):
            raise InputError("request", "tids", "not a list of thread ids", "send the client's own thread ids")
        for t in tids:  # only the client's own threads
            if not os.path.isdir(f"/proc/{c.pid}/task/{t}"):
                raise InputError("request", "tids", f"thread {t} is not a thread of pid {c.pid}",
                                 "send the client's own thread ids")
        if name == "cgroup":
            from alert.system.cgroup import CgroupConfig, CgroupCpuQuota

            if not isinstance(period, int) or isinstance(period, bool):
                raise InputError("request", "period_us", f"{period!r} is not an integer", "send microseconds")
            from alert.system.cgroup import nice_weight

            # the client's own CPUs and nice level, not knobd's
            knob: Knob = CgroupCpuQuota(CgroupConfig(period_us=period, pids=None if tids else (c.pid,),
                                                     tids=tuple(tids), name=f"alert-{c.pid}-{max(0, c.start)}",
                                                     client_uid=None if self.config.copy_shared_limits else c.uid,
                                                     ncpu=len(os.sched_getaffinity(c.pid)),
                                                     shares=nice_weight(os.getpriority(os.PRIO_PROCESS, c.pid))))
        else:
            knob = make_knob(name, KnobOptions())
        kid = max(c.knobs, default=0) + 1
        if knob.machine_wide:
            self._lock_machine(knob)
        try:
            # (a knob that changes nothing outside knobd, e.g. simulated, has nothing to recover)
            state = self._write_state(knob.snapshot(), c) if knob.changes_machine else ""
        except BaseException:
            if knob.machine_wide:
                self._release_machine()
            raise
        c.knobs[kid] = (knob, state)
        lo, hi = knob.limits()
        self.log(f"pid {c.pid} uid {c.uid} opened {name} as #{kid}")
        return {"ok": True, "id": kid, "kind": knob.kind, "unit": knob.unit, "limits": [lo, hi],
                "available": knob.available(), "path": str(getattr(knob, "path", ""))}


def _refuse(conn: socket.socket, problem: str, fix: str) -> None:
    """Answer a refused connection with one error line (never blocking) and close it."""
    try:
        conn.setblocking(False)
        conn.send(json.dumps({"ok": False, "error": f"{problem}. Fix: {fix}"}).encode() + b"\n")
    except OSError:
        pass
    finally:
        conn.close()


def _state_info(d: Any, name: str) -> tuple[int, set[str]]:
    """The client uid a knobd state file of the state directory ``d`` (a ``StateDir``, whose checks
    the read passes) records and the kinds of its knobs ((-1, set()) when it cannot be read)."""
    try:
        doc = json.loads(d.read(name))
        uid, kinds = doc.get("client_uid", -1), {str(k.get("kind")) for k in doc.get("knobs", [])}
    except (SystemLayerError, ValueError, AttributeError, TypeError):
        return -1, set()
    return (uid if isinstance(uid, int) and not isinstance(uid, bool) else -1), kinds


def _default_lock_dir() -> Path:
    """The state directory whose lock root's own runs take for machine-wide knobs (``KnobGuard``)."""
    from alert.system.statedir import default_state_dir

    return default_state_dir()


def _proc_start(pid: int) -> int:
    """The start time of process ``pid`` (clock ticks since boot, /proc/PID/stat field 22). Read as
    bytes: the process name, which its owner sets, may hold brackets, spaces or bytes that are not
    UTF-8."""
    data = Path(f"/proc/{pid}/stat").read_bytes()
    try:
        return int(data[data.rindex(b")") + 2:].split()[19])
    except (ValueError, IndexError):
        raise OSError(f"/proc/{pid}/stat cannot be read") from None


def _proc_uid(pid: int) -> int:
    """The effective uid of process ``pid`` (what the socket's peer credentials report)."""
    for line in Path(f"/proc/{pid}/status").read_bytes().splitlines():
        if line.startswith(b"Uid:"):
            try:
                return int(line.split()[2])
            except (ValueError, IndexError):
                break
    raise OSError(f"/proc/{pid}/status has no readable Uid line")


# ============================================================================ client
class RemoteKnob(Knob):
    """A knob applied by knobd over its socket (for users who are not root)."""

    changes_machine = False  # knobd keeps the state and restores; no local state file

    def __init__(self, socket_path: str | Path, name: str, options: Any = None) -> None:
        super().__init__()
        self.socket_path = str(socket_path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.sock.connect(self.socket_path)
        except OSError as e:
            self.sock.close()
            fix = {errno.ENOENT: "start knobd (alert knobd) or check --via",
                   errno.ECONNREFUSED: "start knobd (alert knobd) or check --via",
                   errno.EACCES: "ask the administrator to add you to knobd's group (then log in again)"}.get(
                e.errno or 0, "check --via")
            raise KnobUnavailable(f"knobd {self.socket_path}", f"cannot connect ({e.strerror})", fix) from None
        self._file = self.sock.makefile("rb")
        req: dict[str, Any] = {"op": "open", "knob": name}
        if options is not None:
            req["period_us"] = int(getattr(options, "period_us", 100_000))
            req["tids"] = [int(t) for t in getattr(options, "tids", ())]
        r = self._call(req)
        self.id = r["id"]
        self.kind, self.unit = str(r["kind"]), str(r["unit"])
        self._limits = (float(r["limits"][0]), float(r["limits"][1]))
        self._available = [float(v) for v in r["available"]]
        self.path = Path(r["path"]) if r.get("path") else None
        self._prepared = False

    def _call(self, req: dict[str, Any]) -> dict[str, Any]:
        try:
            self.sock.sendall(json.dumps(req).encode() + b"\n")
            line = self._file.readline(MAX_LINE + 1)
        except OSError as e:
            raise KnobUnavailable(f"knobd {self.socket_path}", f"connection lost ({e})",
                                  "check that knobd is running") from None
        if not line:
            raise KnobUnavailable(f"knobd {self.socket_path}", "closed the connection",
                                  "check knobd's log (it may have refused this user or stopped)")
        r: dict[str, Any] = json.loads(line)
        if not r.get("ok"):
            raise KnobUnavailable(f"knobd {self.socket_path}", str(r.get("error")), "see the message")
        return r

    def prepare(self) -> None:
        self._call({"op": "prepare", "id": self.id})
        self._prepared = True

    def limits(self) -> tuple[float, float]:
        return self._limits

    def available(self) -> list[float]:
        return list(self._available)

    def read(self) -> float:
        return float(self._call({"op": "read", "id": self.id})["value"])

    def verify(self) -> None:
        # the cgroup directory is visible to everyone: check it here, without a round trip
        if self._prepared and self.path is not None and not os.path.isdir(self.path):
            raise KnobUnavailable(str(self.path), "the cgroup was removed while the run was using it, so the "
                                  "quota no longer applies", "stop whatever removes alert-<pid> cgroups "
                                  "(a cleanup script or service manager) while alert runs, then start the run again")

    def _write(self, value: float) -> None:
        if not self._prepared:
            self.prepare()
        self._call({"op": "apply", "id": self.id, "value": value})

    def snapshot(self) -> dict[str, Any]:
        return {"kind": "knobd", "socket": self.socket_path, "id": self.id}

    def restore(self) -> None:
        if self.sock.fileno() < 0:
            return
        try:
            self._call({"op": "restore", "id": self.id})
        finally:
            self._file.close()
            self.sock.close()
            self._last = None
