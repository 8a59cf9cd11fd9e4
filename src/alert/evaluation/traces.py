"""Traces: what a stream of inputs measured under every configuration (format ``alert-trace`` v1).

A trace records, for each input n of a stream and for every candidate c (a traditional model or
an anytime model stopped after stage k, the profile's candidate rows) and every setting j:

- ``latency[n, c, j]``  end time of candidate c's output, seconds from the start of the input
                         (for anytime rows: the cumulative end time of that stage);
- ``power[n, c, j]``    average power while inferring, watts (energy = power × time);
- ``idle_power[n, j]``  DNN-idle power between inputs, watts (other jobs included);
- ``state[n]``          optional contention state (index into ``state_names``; 0 = none);
- ``correct[n, c]``     optional correctness of the output (1 correct, 0 wrong, -1 unknown).

The trace embeds the profile it refers to (candidate rows, settings, q, q_fail and the quiet
profile means ALERT starts from), so a trace file is self-contained. Files:

- ``.npz`` (fast): the arrays above plus ``header``, a JSON string with ``format``, ``version``,
  ``name``, ``metadata``, ``state_names`` and ``profile`` (an ``alert-profile`` document).
  Loads with ``allow_pickle=False``; every member's declared shape and size is checked against
  the embedded profile and a cap (:data:`MAX_TRACE_BYTES`) before any array is inflated.
- ``.csv`` (for people): one row per (input, candidate, setting) with columns
  ``input,candidate,setting,latency_s,power_w,idle_power_w,state,correct``, preceded by one
  comment line ``# alert-trace {header JSON}``.

See docs/evaluation.md for the full description.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from alert.profile import Profile, ProfileError
from alert.safeio import loads_json, open_regular, read_text

FORMAT = "alert-trace"
VERSION = 1
#: the most array data a trace file may hold (all members together, uncompressed)
MAX_TRACE_BYTES = 1 << 30
#: the most a trace's JSON header may hold
MAX_HEADER_BYTES = 64 << 20
#: a trace whose median latency is more than this many times its profile's (or less than its
#: inverse) is refused: a unit mismatch (e.g. milliseconds against seconds), not a slowdown (the
#: estimators clamp there too)
MAX_SLOWDOWN = 50.0
CSV_COLUMNS = ("input", "candidate", "setting", "latency_s", "power_w", "idle_power_w", "state", "correct")


class TraceError(ValueError):
    """A trace is malformed. The message names the file, the field and the fix."""

    def __init__(self, source: str | None, field: str, problem: str, fix: str = "") -> None:
        self.source = source or "<trace>"
        self.field = field
        msg = f"{self.source}: field '{field}': {problem}"
        if fix:
            msg += f". Fix: {fix}"
        super().__init__(msg)


@dataclass
class Trace:
    """Per-input measurements of every configuration of ``profile`` (validated on construction)."""

    profile: Profile
    latency: np.ndarray
    power: np.ndarray
    idle_power: np.ndarray
    state: np.ndarray | None = None
    state_names: tuple[str, ...] = ("none",)
    correct: np.ndarray | None = None
    name: str = "trace"
    metadata: dict[str, Any] = field(default_factory=dict)
    source: str | None = None

    def __post_init__(self) -> None:
        src = self.source
        self.latency = _real(self.latency, "latency", src)
        self.power = _real(self.power, "power", src)
        self.idle_power = _real(self.idle_power, "idle_power", src)
        if self.state is not None:
            self.state = _integral(self.state, "state", src, np.int64, 0, 2**31)
        if self.correct is not None:
            self.correct = _integral(self.correct, "correct", src, np.int8, -1, 1)
        self.state_names = _state_names(self.state_names, src)
        if not isinstance(self.name, str):
            raise TraceError(src, "name", f"expected a string, got {type(self.name).__name__} {self.name!r}",
                             "name the trace with a JSON string")
        if not isinstance(self.metadata, Mapping):
            raise TraceError(src, "metadata", f"expected an object, got {type(self.metadata).__name__}",
                             "write metadata as a JSON object")
        _validate(self)

    # ------------------------------------------------------------------ shape
    @property
    def n_inputs(self) -> int:
        return int(self.latency.shape[0])

    @property
    def shape(self) -> tuple[int, int, int]:
        """(inputs, candidates, settings)."""
        N, C, L = self.latency.shape
        return N, C, L

    def states(self) -> np.ndarray:
        """Per-input contention state (all zeros when the trace records none)."""
        return self.state if self.state is not None else np.zeros(self.n_inputs, dtype=np.int64)

    def slice(self, start: int, stop: int) -> Trace:
        """Inputs ``start:stop`` as a new trace."""
        s = slice(start, stop)
        return Trace(self.profile, self.latency[s], self.power[s], self.idle_power[s],
                     None if self.state is None else self.state[s], self.state_names,
                     None if self.correct is None else self.correct[s], self.name, dict(self.metadata))

    def in_order_of(self, profile: Profile) -> Trace:
        """This trace with its candidates and settings in ``profile``'s order, where both hold the
        same candidate labels and setting names in another order (else the trace itself)."""
        a = [c.label for c in self.profile.candidates]
        b = [c.label for c in profile.candidates]
        sa = [st.name for st in self.profile.settings]
        sb = [st.name for st in profile.settings]
        if (a == b and sa == sb) or sorted(a) != sorted(b) or sorted(sa) != sorted(sb) \
                or len(set(a)) < len(a) or len(set(sa)) < len(sa):
            return self
        rows = np.array([a.index(x) for x in b])
        cols = np.array([sa.index(x) for x in sb])
        mine = self.profile.to_dict()
        models = {m["name"]: m for m in mine["models"]}
        order = list(dict.fromkeys(c.model for c in profile.candidates))
        if sorted(order) != sorted(models):
            return self
        mine["models"] = [_reorder_model(models[m], cols) for m in order]
        mine["settings"] = [mine["settings"][k] for k in cols.tolist()]
        prof = Profile.from_dict(mine)
        if [c.label for c in prof.candidates] != b:  # (stage rows follow their model)
            return self
        return Trace(prof, self.latency[:, rows][:, :, cols], self.power[:, rows][:, :, cols],
                     self.idle_power[:, cols], self.state, self.state_names,
                     None if self.correct is None else self.correct[:, rows], self.name, dict(self.metadata),
                     self.source)

    def with_profile(self, profile: Profile) -> Trace:
        """The same measurements described by another profile with identical candidates and settings
        (and latencies in its units, :func:`check_units`)."""
        check_matches(self, profile)
        return check_units(Trace(profile, self.latency, self.power, self.idle_power, self.state, self.state_names,
                                 self.correct, self.name, dict(self.metadata), self.source))

    # ------------------------------------------------------------------ npz
    def header(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, "name": self.name, "metadata": self.metadata,
                "state_names": list(self.state_names), "profile": self.profile.to_dict()}

    def save(self, path: str | Path) -> None:
        """Write ``.npz`` (uncompressed, fast to load) or ``.csv`` by the file's suffix (another
        suffix is a ValueError: the name says the format)."""
        path = Path(path)
        if path.suffix not in (".npz", ".csv"):
            raise ValueError(f"{path}: a trace file is named .npz or .csv (the name picks the format), "
                             f"not {path.suffix or 'without a suffix'}. Fix: rename it")
        if path.suffix == ".csv":
            self.to_csv(path)
            return
        arrays: dict[str, Any] = {"header": np.array(json.dumps(self.header())),
                                  "latency": self.latency, "power": self.power, "idle_power": self.idle_power}
        if self.state is not None:
            arrays["state"] = self.state
        if self.correct is not None:
            arrays["correct"] = self.correct
        with open(path, "wb") as f:
            np.savez(f, **arrays)

    @classmethod
    def load(cls, path: str | Path) -> Trace:
        """Read a trace written by :meth:`save` (``.npz`` or ``.csv``); its latencies must be in its
        profile's units (:func:`check_units`)."""
        path = Path(path)
        src = str(path)
        if path.suffix == ".csv":
            return check_units(cls.from_csv(path))
        header, data = _read_npz(path, src)
        return check_units(cls(header["profile"], data["latency"], data["power"], data["idle_power"],
                               data.get("state"), header["state_names"], data.get("correct"), header["name"],
                               header["metadata"], src))

    # ------------------------------------------------------------------ csv
    def to_csv(self, path: str | Path) -> None:
        """Long-form CSV, one row per (input, candidate, setting)."""
        N, C, L = self.shape
        labels = np.array([c.label for c in self.profile.candidates], dtype=object)
        snames = np.array([s.name for s in self.profile.settings], dtype=object)
        n_idx, c_idx, j_idx = (a.ravel() for a in np.meshgrid(np.arange(N), np.arange(C), np.arange(L),
                                                              indexing="ij"))
        state = self.states()[n_idx]
        correct = (self.correct[n_idx, c_idx] if self.correct is not None
                   else np.full(n_idx.shape, -1, dtype=np.int8))
        lat = self.latency.ravel()
        pw = self.power.ravel()
        idle = self.idle_power[n_idx, j_idx]
        with open(path, "w", newline="") as f:
            f.write(f"# {FORMAT} {json.dumps(self.header())}\n")
            w = csv.writer(f)
            w.writerow(CSV_COLUMNS)
            w.writerows(zip(n_idx.tolist(), labels[c_idx].tolist(), snames[j_idx].tolist(),
                            (f"{x:.9g}" for x in lat), (f"{x:.6g}" for x in pw), (f"{x:.6g}" for x in idle),
                            state.tolist(), correct.tolist(), strict=True))

    @classmethod
    def from_csv(cls, path: str | Path) -> Trace:
        src = str(path)
        f = io.StringIO(read_text(path, TraceError, MAX_TRACE_BYTES), newline="")
        first = f.readline()
        prefix = f"# {FORMAT} "
        if not first.startswith(prefix):
            raise TraceError(src, "<line 1>", "missing the header comment",
                             f"start the file with '{prefix}{{...header JSON...}}'")
        header = _parse_header(first[len(prefix):], src)
        try:
            rows = list(csv.reader(f))
        except csv.Error as e:
            raise TraceError(src, "<rows>", f"not readable as CSV ({e})",
                             "write one short row per (input, candidate, setting)") from None
        if not rows or tuple(rows[0]) != CSV_COLUMNS:
            raise TraceError(src, "<line 2>", f"expected the columns {','.join(CSV_COLUMNS)}",
                             "write the column names on the line after the header")
        prof: Profile = header["profile"]
        C, L = prof.shape
        cidx = {c.label: c.index for c in prof.candidates}
        sidx = {s.name: j for j, s in enumerate(prof.settings)}
        body = rows[1:]
        if not body:
            raise TraceError(src, "<rows>", "no rows after the column line: a trace needs at least one input",
                             "write one row per (input, candidate, setting) of every input")
        for k, r in enumerate(body):
            if len(r) != len(CSV_COLUMNS):
                raise TraceError(src, f"<row {k + 3}>", f"{len(r)} values, but there are {len(CSV_COLUMNS)} columns",
                                 f"write exactly {','.join(CSV_COLUMNS)} on every row")
        try:
            n = np.array([int(r[0]) for r in body])
            lat = np.array([float(r[3]) for r in body])
            pw = np.array([float(r[4]) for r in body])
            idle = np.array([float(r[5]) for r in body])
            st = np.array([int(r[6]) for r in body])
            cor = np.array([int(r[7]) for r in body])
        except (ValueError, IndexError, OverflowError) as e:
            raise TraceError(src, "<rows>", f"a row is not numeric where it must be ({e})",
                             "each row: int input, labels, then numbers") from None
        try:
            c = np.array([cidx[r[1]] for r in body])
            j = np.array([sidx[r[2]] for r in body])
        except KeyError as e:
            raise TraceError(src, "candidate/setting", f"unknown label {e}",
                             "use the candidate labels and setting names of the embedded profile") from None
        N = int(n.max()) + 1 if n.size else 0
        if n.size and n.min() >= 0:
            key = (n * C + c) * L + j
            _, at, counts = np.unique(key, return_index=True, return_counts=True)
            if (counts > 1).any():
                k = int(np.flatnonzero(key == key[at[counts > 1][0]])[1])  # the second row of the first repeat
                raise TraceError(src, f"<row {k + 3}>", f"repeats input {n[k]}, candidate {body[k][1]}, setting "
                                 f"{body[k][2]}", "give each (input, candidate, setting) one row")
        if n.size != N * C * L:
            raise TraceError(src, "<rows>", f"{n.size} rows but {N} inputs x {C} candidates x {L} settings "
                             f"= {N * C * L}", "give one row per (input, candidate, setting)")
        if n.min() < 0:
            raise TraceError(src, "input", f"input index {int(n.min())} is negative", "number inputs from 0")
        latency = np.full((N, C, L), np.nan)
        power = np.full((N, C, L), np.nan)
        idle_p = np.full((N, L), np.nan)
        latency[n, c, j] = lat
        power[n, c, j] = pw
        idle_p[n, j] = idle
        for name, col, lo, hi in (("state", st, 0, 2**31), ("correct", cor, -1, 1)):
            bad = np.flatnonzero((col < lo) | (col > hi))
            if bad.size:
                raise TraceError(src, f"<row {int(bad[0]) + 3}>.{name}", f"value {int(col[bad[0]])} outside [{lo}, {hi}]",
                                 "correct is 1, 0 or -1 (unknown); state indexes state_names")
        state = np.zeros(N, dtype=np.int64)
        state[n] = st
        correct = np.full((N, C), -1, dtype=np.int8)
        correct[n, c] = cor
        # one value per input (state), per input x setting (idle_power_w), per input x candidate
        # (correct): the rows that repeat it must agree, else all but one would be dropped
        for name, col, kept, key, per in (("idle_power_w", idle, idle_p[n, j], n * L + j, "input and setting"),
                                          ("state", st, state[n], n, "input"),
                                          ("correct", cor, correct[n, c], n * C + c, "input and candidate")):
            bad = np.flatnonzero((col != kept) & ~(np.isnan(col) & np.isnan(kept)))
            if bad.size:
                k = int(bad[0])
                other = int(np.flatnonzero((key == key[k]) & (col == kept[k]))[0])
                raise TraceError(src, f"<row {k + 3}>.{name}", f"{body[k][CSV_COLUMNS.index(name)]} disagrees with "
                                 f"{body[other][CSV_COLUMNS.index(name)]} on row {other + 3} (the same {per})",
                                 f"give every row of one {per} the same {name}")
        return cls(prof, latency, power, idle_p, state if header["state_names"] != ["none"] or st.any() else None,
                   header["state_names"], correct if (correct >= 0).any() else None, header["name"],
                   header["metadata"], src)


# ============================================================================ validation
def _read_npz(path: Path, src: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Header and arrays of a ``.npz`` trace. Every member's ``.npy`` header (shape, dtype) is read
    first and checked against its size in the archive, the embedded profile and
    :data:`MAX_TRACE_BYTES`, so nothing is inflated that the trace could not use."""
    import zipfile
    import zlib

    fix = "write traces with Trace.save or `alert trace`"
    os.close(open_regular(path, TraceError))  # a regular file: no FIFO, device or directory
    fmt = np.lib.format
    try:
        with zipfile.ZipFile(path) as zf:
            infos = {i.filename[:-4]: i for i in zf.infolist() if i.filename.endswith(".npy")}
            declared: dict[str, tuple[tuple[int, ...], np.dtype[Any]]] = {}
            total = 0
            for key, info in infos.items():
                with zf.open(info) as f:
                    version = fmt.read_magic(f)
                    shape, _, dtype = (fmt.read_array_header_1_0(f) if version == (1, 0)
                                       else fmt.read_array_header_2_0(f))
                    offset = f.tell()
                if dtype.hasobject:
                    raise TraceError(src, key, "holds Python objects", "store numeric arrays (no pickles)")
                nbytes = math.prod(shape) * dtype.itemsize
                if offset + nbytes != info.file_size:
                    raise TraceError(src, key, f"declares shape {shape} of {dtype} ({nbytes} bytes) but holds "
                                     f"{info.file_size - offset} bytes", fix)
                total += nbytes
                if total > MAX_TRACE_BYTES:
                    raise TraceError(src, key, f"the arrays hold more than {MAX_TRACE_BYTES} bytes",
                                     "split the trace into several files")
                declared[key] = (shape, dtype)
            if "header" not in declared:
                raise TraceError(src, "header", "missing", "the archive must hold a JSON 'header' array")
            for key in ("latency", "power", "idle_power"):
                if key not in declared:
                    raise TraceError(src, key, "missing array", f"store the '{key}' array in the archive")
            hshape, hdtype = declared["header"]
            if hshape != () or hdtype.kind != "U" or infos["header"].file_size > MAX_HEADER_BYTES:
                raise TraceError(src, "header", f"expected one JSON string, found shape {hshape} of {hdtype}", fix)
            with zf.open(infos["header"]) as f:
                header = _parse_header(str(fmt.read_array(f, allow_pickle=False)), src)
            C, L = header["profile"].shape
            N = declared["latency"][0][0] if declared["latency"][0] else 0
            expect = {"latency": (N, C, L), "power": (N, C, L), "idle_power": (N, L), "state": (N,),
                      "correct": (N, C)}
            for key, shape in expect.items():
                if key in declared and declared[key][0] != shape:
                    raise TraceError(src, key, f"declared shape {declared[key][0]}, expected {shape} "
                                     "(inputs x the embedded profile's candidates and settings)", fix)
            data = {}
            for key in expect:
                if key in declared:
                    with zf.open(infos[key]) as f:
                        data[key] = fmt.read_array(f, allow_pickle=False)
            return header, data
    except TraceError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, OSError, ValueError, EOFError,
            NotImplementedError, KeyError, RuntimeError) as e:
        raise TraceError(src, "<file>", f"not a readable .npz archive ({type(e).__name__}: {str(e)[:200]})",
                         fix) from None
    except MemoryError:
        raise TraceError(src, "<file>", "too large to load", "split the trace into several files") from None


def _parse_header(text: str, src: str) -> dict[str, Any]:
    h = loads_json(text, src, TraceError, "header")
    if not isinstance(h, dict) or h.get("format") != FORMAT:
        raise TraceError(src, "header.format", f"expected {FORMAT!r}, got {h.get('format') if isinstance(h, dict) else h!r}",
                         f"set \"format\": \"{FORMAT}\"")
    if h.get("version") != VERSION:
        raise TraceError(src, "header.version", f"unsupported version {h.get('version')!r}; this alert reads {VERSION}",
                         "convert or re-record the trace")
    if "profile" not in h:
        raise TraceError(src, "header.profile", "missing", "embed the alert-profile document the trace refers to")
    try:
        h["profile"] = Profile.from_dict(h["profile"], source=f"{src}:header.profile")
    except ProfileError as e:
        raise TraceError(src, "header.profile", str(e), "fix the embedded profile") from None
    h.setdefault("name", Path(src).stem)
    h.setdefault("metadata", {})
    h.setdefault("state_names", ["none"])
    return h


class TraceBuilder:
    """Fills a trace of ``n_inputs`` inputs of ``profile`` model by model, then builds the validated
    :class:`Trace`: the one trace builder of ``alert profile --trace``, ``alert trace record`` and
    the sentence traces. Rows come from the profile (``Profile.model_rows``); power and DNN-idle
    power that were not measured are the profile's; a latency left unmeasured is an error."""

    def __init__(self, profile: Profile, n_inputs: int) -> None:
        C, L = profile.shape
        self.profile = profile
        self.latency = np.full((n_inputs, C, L), np.nan)
        self.power = np.full((n_inputs, C, L), np.nan)
        self.idle_power = np.full((n_inputs, L), np.nan)
        self.correct: np.ndarray | None = None

    def put(self, model: str, setting: int, ends: Any, power: Any = None, inputs: Any = slice(None)) -> None:
        """Stage end times of ``model`` at setting index ``setting``: ``ends`` is (inputs, stages)
        (or (stages,) for one input ``inputs=n``); ``power`` broadcasts to it."""
        rows = list(self.profile.model_rows(model))
        self.latency[inputs, rows, setting] = ends
        if power is not None:
            self.power[inputs, rows, setting] = power

    def put_correct(self, model: str, flags: Any, inputs: Any = slice(None)) -> None:
        """Per input and stage of ``model``: 1 when its output was right, 0 when wrong, -1 unknown."""
        if self.correct is None:
            self.correct = np.full(self.latency.shape[:2], -1, dtype=np.int8)
        self.correct[inputs, list(self.profile.model_rows(model))] = flags

    def build(self, name: str, metadata: Mapping[str, Any] | None = None, state: Any = None,
              state_names: Sequence[str] = ("none",)) -> Trace:
        power = np.where(np.isnan(self.power), self.profile.power[None], self.power)
        idle = np.where(np.isnan(self.idle_power), self.profile.idle_power[None], self.idle_power)
        return Trace(self.profile, self.latency, power, idle, state, tuple(state_names), self.correct, name,
                     dict(metadata or {}))


def _validate(t: Trace) -> None:
    src = t.source
    C, L = t.profile.shape
    if t.latency.ndim != 3 or t.latency.shape[1:] != (C, L):
        raise TraceError(src, "latency", f"shape {t.latency.shape}, expected (inputs, {C}, {L})",
                         "record one latency per input x candidate x setting of the profile")
    N = t.latency.shape[0]
    if N == 0:
        raise TraceError(src, "latency", "no inputs", "record at least one input")
    if t.power.shape != (N, C, L):
        raise TraceError(src, "power", f"shape {t.power.shape}, expected {(N, C, L)}",
                         "record one average power per input x candidate x setting")
    if t.idle_power.shape != (N, L):
        raise TraceError(src, "idle_power", f"shape {t.idle_power.shape}, expected {(N, L)}",
                         "record the DNN-idle power per input x setting")
    for name, arr, strict in (("latency", t.latency, True), ("power", t.power, True),
                              ("idle_power", t.idle_power, False)):
        bad = np.argwhere(~np.isfinite(arr))
        if bad.size:
            raise TraceError(src, f"{name}{_idx(bad[0])}", "NaN or infinite value (missing measurement?)",
                             "re-measure that cell or drop the input")
        bad = np.argwhere(arr <= 0) if strict else np.argwhere(arr < 0)
        if bad.size:
            raise TraceError(src, f"{name}{_idx(bad[0])}", f"value {arr[tuple(bad[0])]} must be "
                             f"{'> 0' if strict else '>= 0'}", "latencies are seconds, powers watts")
    # anytime stage end times increase within each input and setting
    if t.profile.stage_links:
        d = t.profile.stage_increments(t.latency)
        bad = np.argwhere(d[:, [r for r, _ in t.profile.stage_links], :] <= 0)
        if bad.size:
            n, i, j = bad[0]
            row, prev = t.profile.stage_links[i]
            raise TraceError(src, f"latency[{n}][{row}][{j}]",
                             f"stage end time {t.latency[n, row, j]} is not after the previous stage's "
                             f"{t.latency[n, prev, j]}", "record cumulative stage end times")
    if t.state is not None:
        if t.state.shape != (N,):
            raise TraceError(src, "state", f"shape {t.state.shape}, expected ({N},)", "one state per input")
        unnamed = np.flatnonzero((t.state < 0) | (t.state >= len(t.state_names)))
        if unnamed.size:
            raise TraceError(src, f"state[{unnamed[0]}]", f"state {t.state[unnamed[0]]} has no name "
                             f"(state_names has {len(t.state_names)})", "list every state in state_names")
    if t.correct is not None:
        if t.correct.shape != (N, C):
            raise TraceError(src, "correct", f"shape {t.correct.shape}, expected {(N, C)}",
                             "one correctness flag per input x candidate")
        bad = np.argwhere((t.correct < -1) | (t.correct > 1))
        if bad.size:
            raise TraceError(src, f"correct{_idx(bad[0])}", "must be 1, 0 or -1 (unknown)", "fix the flag")


def _state_names(v: Any, src: str | None) -> tuple[str, ...]:
    """The state names: a non-empty list of distinct strings (a string is no list of names)."""
    if isinstance(v, (str, bytes)) or not isinstance(v, Sequence):
        raise TraceError(src, "state_names", f"expected a list of names, got {type(v).__name__} {v!r}"[:200],
                         'write a JSON list such as ["none", "memory"]')
    names = tuple(v)
    if not names:
        raise TraceError(src, "state_names", "empty", 'name state 0 at least, e.g. ["none"]')
    for i, x in enumerate(names):
        if not isinstance(x, str):
            raise TraceError(src, f"state_names[{i}]", f"expected a string, got {type(x).__name__} {x!r}"[:200],
                             "name every state with a string")
    seen = [x for i, x in enumerate(names) if x in names[:i]]
    if seen:
        raise TraceError(src, "state_names", f"{seen[0]!r} is listed twice", "give every state its own name")
    return names


def check_units(trace: Trace) -> Trace:
    """``trace``, unless its median latency is more than :data:`MAX_SLOWDOWN` times its profile's
    (or less than its inverse): then a TraceError, since the trace and the profile are not in the
    same units (milliseconds against seconds) or not of the same machine."""
    ratio = float(np.median(trace.latency / trace.profile.t_prof[None]))
    if not 1 / MAX_SLOWDOWN <= ratio <= MAX_SLOWDOWN:
        raise TraceError(trace.source, "latency", f"the median latency is {ratio:.3g} x the profile's, beyond the "
                         f"{MAX_SLOWDOWN:g} x any slowdown is taken to be (a unit mismatch, e.g. milliseconds "
                         "against seconds, or another machine's profile)",
                         "give the trace's latencies and the profile's in seconds, both from this machine")
    return trace


def _real(v: Any, name: str, src: str | None) -> np.ndarray:
    """A float array of real numbers: complex, object, string or boolean data is a TraceError
    (a cast would drop the imaginary part or parse text silently)."""
    a = np.asarray(v)
    if a.dtype.kind not in "fiu":
        raise TraceError(src, name, f"holds {a.dtype} data, not real numbers",
                         "store real floating-point values (seconds, watts)")
    return a.astype(float, copy=False)


def _integral(v: Any, name: str, src: str | None, dtype: Any, lo: int, hi: int) -> np.ndarray:
    """An integer array with every value in [lo, hi] (checked before the cast, which would wrap)."""
    a = np.asarray(v)
    if a.dtype.kind not in "iuf" or a.dtype.kind == "f" and not np.all(np.isfinite(a) & (a == np.round(a))):
        raise TraceError(src, name, f"holds {a.dtype} data, not integers", "store integer values")
    bad = np.argwhere((a < lo) | (a > hi))
    if bad.size:
        raise TraceError(src, f"{name}{_idx(bad[0])}", f"value {a[tuple(bad[0])]} outside [{lo}, {hi}]",
                         "correct is 1, 0 or -1 (unknown); state indexes state_names" if name == "correct"
                         else "state indexes state_names")
    return a.astype(dtype)


def _idx(ix: np.ndarray) -> str:
    return "".join(f"[{int(x)}]" for x in ix)


def check_matches(trace: Trace, profile: Profile) -> None:
    """Raise TraceError unless ``profile`` has the trace's candidate rows and settings, in order."""
    a = [c.label for c in trace.profile.candidates]
    b = [c.label for c in profile.candidates]
    src = trace.source
    if a != b:
        raise TraceError(src, "profile.candidates", f"the trace's candidates {a} differ from the profile's {b}",
                         "use the profile the trace was recorded with")
    sa = [s.name for s in trace.profile.settings]
    sb = [s.name for s in profile.settings]
    if sa != sb:
        raise TraceError(src, "profile.settings", f"the trace's settings {sa} differ from the profile's {sb}",
                         "use the profile the trace was recorded with")
    for x, y in zip(trace.profile.settings, profile.settings, strict=True):
        if x.unit != y.unit or not math.isclose(x.value, y.value, rel_tol=1e-9, abs_tol=1e-12):
            raise TraceError(src, f"profile.settings[{x.name}]", f"the trace's setting {x.name} is {x.value:g} "
                             f"{x.unit}, the profile's {y.value:g} {y.unit}",
                             "use the profile the trace was recorded with")


def _reorder_model(model: dict[str, Any], cols: np.ndarray) -> dict[str, Any]:
    """A profile model (``Model.to_dict``) with its per-setting tables (the last axis of
    ``latency``, ``power``, ``latency_std``, ``latency_p95``) taken in the settings order ``cols``."""
    out = dict(model)
    for key in ("latency", "power", "latency_std", "latency_p95"):
        if key in model:
            out[key] = np.asarray(model[key], dtype=float)[..., cols].tolist()
    return out


def is_trace_csv(path: str | Path) -> bool:
    """Whether the ``.csv`` at ``path`` starts with the trace header comment (its first bytes only)."""
    try:
        with open(path, "rb") as f:
            return f.read(len(FORMAT) + 2) == f"# {FORMAT}".encode()
    except OSError:
        return False
