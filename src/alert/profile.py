"""Profiles: the offline measurements ALERT starts from (paper §3.1, §3.4).

A profile holds, for every candidate DNN d_i and system setting p_j, the mean latency in a
quiet environment t_prof[i, j], the power while inferring p[i, j], the DNN-idle power of each
setting, the validation accuracy q_i (per stage for anytime models) and q_fail.

File format (JSON, ``"format": "alert-profile"``, ``"version": 1``); see docs/profile-format.md::

    {
      "format": "alert-profile", "version": 1, "name": "laptop",
      "metadata": {"platform": "...", "method": "..."},
      "q_fail": 0.1,
      "settings": [{"name": "25W", "value": 25.0, "unit": "W", "idle_power": 4.0}, ...],
      "models": [
        {"name": "resnet-a", "kind": "traditional", "accuracy": 0.91,
         "latency": [0.031, ...], "power": [24.0, ...]},
        {"name": "nested", "kind": "anytime", "accuracy": [0.80, 0.88, 0.92],
         "latency": [[...stage 1 end time per setting...], [...stage 2...], [...]],
         "power": [...per setting...]}
      ]
    }

In memory the profile is flattened into *candidates*: one row per traditional model and one
row per (anytime model, stopping stage). Every array of the decision path is a numpy table
over candidates × settings, so estimation never loops over configurations.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from alert.safeio import InputError

FORMAT = "alert-profile"
VERSION = 1
UNITS: dict[str, str] = {
    "W": "power cap in watts",
    "MHz": "clock frequency",
    "GHz": "clock frequency",
    "cores": "CPU-time quota in cores (cgroup cpu.max / cfs quota)",
    "threads": "intra-op thread count",
    "%": "percentage of a resource",
    "level": "an abstract resource level",
}
ModelKind = Literal["traditional", "anytime"]
KINDS: tuple[str, ...] = ("traditional", "anytime")


class ProfileError(InputError):
    """A profile is malformed. The message names the file, the field and the fix."""

    def __init__(self, source: str | None, field: str, problem: str, fix: str = "") -> None:
        super().__init__(source or "<profile>", field, problem, fix)


@dataclass(frozen=True)
class Setting:
    """One system-resource setting p_j (a power cap, a clock, a CPU quota, ...)."""

    name: str
    value: float
    unit: str
    idle_power: float

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "unit": self.unit,
                "idle_power": self.idle_power}


@dataclass(frozen=True)
class Model:
    """One candidate DNN. A traditional model has one stage; an anytime model has k stages.

    ``accuracy[s]`` is q of the output after stage s; ``latency[s, j]`` is the profiled end time
    of stage s at setting j (cumulative from the start of the input); ``power[s, j]`` is the power
    while inferring.
    """

    name: str
    kind: ModelKind
    accuracy: np.ndarray
    latency: np.ndarray
    power: np.ndarray
    latency_std: np.ndarray | None = None
    latency_p95: np.ndarray | None = None

    @property
    def n_stages(self) -> int:
        return int(self.accuracy.shape[0])

    def to_dict(self) -> dict[str, Any]:
        anytime = self.kind == "anytime"

        def out(a: np.ndarray) -> Any:
            return a.tolist() if anytime else a[0].tolist()

        d: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "accuracy": self.accuracy.tolist() if anytime else float(self.accuracy[0]),
            "latency": out(self.latency),
            "power": out(self.power),
        }
        if self.latency_std is not None:
            d["latency_std"] = out(self.latency_std)
        if self.latency_p95 is not None:
            d["latency_p95"] = out(self.latency_p95)
        return d


@dataclass(frozen=True)
class Candidate:
    """A row of the candidate table: a model, and for anytime models the stopping stage."""

    index: int
    model: str
    kind: ModelKind
    stage: int | None  # 1-based stopping stage for anytime models, None for traditional

    @property
    def label(self) -> str:
        return self.model if self.stage is None else f"{self.model}@{self.stage}"


@dataclass
class Profile:
    """Candidate DNNs × system settings, validated and flattened for vectorised estimation."""

    models: tuple[Model, ...]
    settings: tuple[Setting, ...]
    q_fail: float
    name: str = "profile"
    metadata: dict[str, Any] = field(default_factory=dict)
    source: str | None = None

    def __post_init__(self) -> None:
        self.models = tuple(self.models)
        self.settings = tuple(self.settings)
        _check_consistent(self)
        rows_model: list[int] = []
        rows_stage: list[int] = []
        start: list[int] = []
        q: list[float] = []
        dq: list[float] = []
        t: list[np.ndarray] = []
        p: list[np.ndarray] = []
        blocks: list[tuple[int, int]] = []
        for mi, m in enumerate(self.models):
            first = len(rows_model)
            if m.kind == "anytime" and m.n_stages > 1:
                blocks.append((first, first + m.n_stages))
            prev_q = self.q_fail
            for s in range(m.n_stages):
                rows_model.append(mi)
                rows_stage.append(s)
                q.append(m.accuracy[s])
                dq.append(m.accuracy[s] - prev_q)
                prev_q = m.accuracy[s]
                t.append(m.latency[s])
                p.append(m.power[s])
                start.append(first)
        n = len(rows_model)
        self.cand_model = np.asarray(rows_model, dtype=np.intp)
        self.cand_stage = np.asarray(rows_stage, dtype=np.intp)
        self.q = np.asarray(q, dtype=float)
        self.dq = np.asarray(dq, dtype=float)
        self.t_prof = np.asarray(t, dtype=float).reshape(n, len(self.settings))
        self.power = np.asarray(p, dtype=float).reshape(n, len(self.settings))
        self.idle_power = np.asarray([s.idle_power for s in self.settings], dtype=float)
        # what other work can add to the idle draw, up to the configuration's inference power
        # (idle_model="headroom", alert.estimate.idle_reference)
        self.idle_headroom = np.maximum(self.power - self.idle_power[None, :], 0.0)
        self.setting_values = np.asarray([s.value for s in self.settings], dtype=float)
        # Rows of one anytime model are contiguous; group_start[c] is the row of its first stage, so
        # the sum over stages 1..k of candidate c is a difference of two running sums (Eq. 13).
        self.group_start = np.asarray(start, dtype=np.intp)
        # (row, previous stage's row) for every anytime stage after the first, in stage order
        self.stage_links = tuple((r, r - 1) for r in range(n) if self.cand_stage[r] > 0)
        # [first row, end row) of every anytime model with more than one stage
        self.anytime_blocks = tuple(blocks)
        self.t_first = self.t_prof[self.group_start]  # end time of each candidate's first output
        self.is_anytime = np.asarray([self.models[mi].kind == "anytime" for mi in rows_model], dtype=bool)
        # [first row, end row) of every run of anytime rows (any anytime model, even of one stage):
        # the rows whose run time the deadline caps, since the runtime stops an anytime model there
        edges = np.flatnonzero(np.diff(np.concatenate(([0], self.is_anytime.astype(np.int8), [0]))))
        self.anytime_spans = tuple((int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True))
        self.has_anytime = bool(self.is_anytime.any())
        # anytime configurations whose period costs the same whether the model runs on to the
        # deadline or waits (inference power at or below the setting's idle power, e.g. a reserved
        # CPU share): stopped at the deadline, they spend nothing for running (MaximizeAccuracy)
        self.free_run = self.is_anytime[:, None] & (self.power <= self.idle_power[None, :] * (1 + 1e-12))
        self.has_free_run = bool(self.free_run.any())  # (asked on every decision)
        in_block = np.zeros(n, dtype=bool)
        for a, b in blocks:
            in_block[a:b] = True
        self._one_stage = ~in_block  # rows whose q̂ is q_fail + dq·Pr (Eq. 7)
        self._pr_need: dict[float, tuple[np.ndarray, tuple[tuple[int, int], ...]] | None] = {}
        self.candidates = tuple(
            Candidate(i, self.models[mi].name, self.models[mi].kind,
                      (s + 1) if self.models[mi].kind == "anytime" else None)
            for i, (mi, s) in enumerate(zip(rows_model, rows_stage, strict=True))
        )

    # ----------------------------------------------------------------- shape and lookup
    @property
    def shape(self) -> tuple[int, int]:
        """(number of candidates, number of settings)."""
        C, L = self.t_prof.shape
        return C, L

    @property
    def unit(self) -> str:
        return self.settings[0].unit

    def candidate_index(self, model: str, stage: int | None = None) -> int:
        """Row of ``model`` (stopping after 1-based ``stage`` for an anytime model; last stage by default)."""
        for c in self.candidates:
            if c.model == model and (c.stage == stage or (stage is None and
                                                          (c.kind == "traditional" or c.stage == self._n_stages(model)))):
                return c.index
        raise KeyError(f"no candidate {model!r} stage {stage!r} in profile {self.name!r}")

    def stage_row(self, candidate: int, stage: int) -> int:
        """Row of the model of ``candidate`` stopped after 1-based ``stage`` instead (a traditional
        model has one stage)."""
        n = self.models[int(self.cand_model[candidate])].n_stages
        if not 1 <= stage <= n:
            raise IndexError(f"candidate {candidate} has stages 1..{n}, not {stage}")
        return int(self.group_start[candidate]) + int(stage) - 1

    def first_row(self, candidate: Any) -> Any:
        """Row of stage 1 of the model of ``candidate`` (the candidate itself for a traditional
        model); vectorised over an array of candidates."""
        return self.group_start[candidate] if isinstance(candidate, np.ndarray) else int(self.group_start[candidate])

    def stage_number(self, row: int) -> int | None:
        """1-based stage of an anytime ``row``; None for a traditional row."""
        return int(self.cand_stage[row]) + 1 if self.is_anytime[row] else None

    def model_rows(self, model: str) -> range:
        """Rows of every stage of ``model``, in stage order (one row for a traditional model)."""
        for mi, m in enumerate(self.models):
            if m.name == model:
                first = int(np.flatnonzero(self.cand_model == mi)[0])
                return range(first, first + m.n_stages)
        raise KeyError(f"no model {model!r} in profile {self.name!r}")

    def rows_through(self, candidate: int) -> range:
        """Rows of the stages of ``candidate``'s model from stage 1 up to the candidate's own."""
        return range(int(self.group_start[candidate]), int(candidate) + 1)

    def pr_needed(self, accuracy: float) -> tuple[np.ndarray, tuple[tuple[int, int], ...]] | None:
        """What Pr each one-stage row needs for q̂ = q_fail + dq·Pr ≥ ``accuracy`` (Eq. 7): the
        column (rows × 1) ``(accuracy − q_fail)/dq``, more than 1 where a row cannot get there
        and at most 0 where it gets there whatever Pr; rows of anytime models with more than one
        stage (Eq. 13) carry a placeholder. Beside it, as [row, row + 1) spans, the one-stage rows
        whose need lies within 1e-9 of 0 or 1 (the goal at the model's accuracy or at q_fail),
        where Pr rounds to exactly 1 or 0 on a whole stretch of settings: those are to be answered
        from Pr itself. None when some one-stage row has q ≤ q_fail (q̂ then falls with Pr). Kept
        per accuracy (a goal asks the same on every input), for the last 64 accuracies asked at
        most."""
        if accuracy not in self._pr_need:
            if len(self._pr_need) >= 64:  # goals that change with every input: keep it bounded
                self._pr_need.clear()
            one = self._one_stage
            got = None
            if not np.any(self.dq[one] <= 0):
                with np.errstate(over="ignore"):  # a gain near 0: a need of ±inf (never / always met)
                    need = np.where(one, (accuracy - self.q_fail) / np.where(one, self.dq, 1.0), 0.5).reshape(-1, 1).copy()
                need.flags.writeable = False  # read-only: an estimator may keep what it derives from it
                n = need[:, 0]
                edge = one & ((np.abs(n) < 1e-9) | (np.abs(n - 1.0) < 1e-9))
                got = (need, tuple((int(r), int(r) + 1) for r in np.flatnonzero(edge)))
            self._pr_need[accuracy] = got
        return self._pr_need[accuracy]

    def at_first_stage(self, table: np.ndarray) -> np.ndarray:
        """``table`` (candidates first) with every candidate's row replaced by its stage-1 row."""
        return table[self.group_start]

    def any_stage_through(self, mask: np.ndarray) -> np.ndarray:
        """Per candidate (rows first): whether ``mask`` holds at some stage of its model up to its
        own stopping stage (a new array)."""
        out = np.array(mask, dtype=bool)
        for row, prev in self.stage_links:  # in stage order, so each row sees all earlier ones
            out[row] |= out[prev]
        return out

    def stage_after(self, row: np.ndarray) -> np.ndarray:
        """For output rows laid out as ``stages_done`` counts (candidates second to last, -1: no
        stage), the row of the stage that follows, capped at each candidate's own stage; stage 1
        where there is no output."""
        own = np.arange(self.shape[0])[:, None]
        return np.where(row < 0, self.group_start[:, None], np.minimum(row + 1, own))

    def stage_increments(self, table: np.ndarray) -> np.ndarray:
        """``table`` (rows second to last) minus the previous stage's row of the same model: the
        duration of every stage (a traditional model's whole latency)."""
        out = np.array(table, dtype=float)
        if self.stage_links:
            rows, prev = (np.asarray(x) for x in zip(*self.stage_links, strict=True))
            out[..., rows, :] = table[..., rows, :] - table[..., prev, :]
        return out

    def cumulate_stages(self, increments: np.ndarray) -> np.ndarray:
        """The inverse of ``stage_increments``: running sums over the stages of every model."""
        out = np.array(increments, dtype=float)
        for a, b in self.anytime_blocks:
            np.cumsum(out[..., a:b, :], axis=-2, out=out[..., a:b, :])
        return out

    def stages_done(self, done: np.ndarray) -> np.ndarray:
        """How many stages of each candidate's model, up to the candidate's own stopping stage,
        are marked in ``done``: a boolean table over rows with the candidate axis second to last
        (``(..., C, L)``). Stage end times increase, so the finished stages are the first ones
        and the count names the last of them (``stage_rows``)."""
        d = np.asarray(done, dtype=np.intp)
        upto = np.cumsum(d, axis=-2)            # stages of rows 0..c marked
        before = upto - d                        # rows 0..c-1
        return upto - np.take(before, self.group_start, axis=-2)

    def stage_rows(self, n_done: np.ndarray) -> np.ndarray:
        """Row of stage ``n_done`` of each candidate's model (``n_done`` over candidates on the
        second-to-last axis, as ``stages_done`` returns it); -1 where it is 0."""
        first = self.group_start[:, None]
        return np.where(n_done >= 1, first + n_done - 1, -1)

    def _n_stages(self, model: str) -> int:
        return next(m.n_stages for m in self.models if m.name == model)

    def setting_index(self, name_or_value: str | float) -> int:
        for j, s in enumerate(self.settings):
            if s.name == name_or_value or (not isinstance(name_or_value, str) and s.value == name_or_value):
                return j
        raise KeyError(f"no setting {name_or_value!r} in profile {self.name!r}")

    def subset(self, kinds: Iterable[str]) -> Profile:
        """The same profile restricted to models of the given kinds (ALERT_Any / ALERT_Trad)."""
        kinds = set(kinds)
        models = tuple(m for m in self.models if m.kind in kinds)
        if not models:
            raise ProfileError(self.source, "models", f"no model of kind {sorted(kinds)}",
                               "add such a model or choose another candidate set")
        return Profile(models, self.settings, self.q_fail, self.name, dict(self.metadata), self.source)

    # ------------------------------------------------------------------------- I/O
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "name": self.name,
            "metadata": self.metadata,
            "q_fail": self.q_fail,
            "settings": [s.to_dict() for s in self.settings],
            "models": [m.to_dict() for m in self.models],
        }

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=1) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> Profile:
        from alert.safeio import read_json

        src = str(path)
        data = read_json(path, ProfileError)  # regular files only; duplicate keys, bad UTF-8... named
        return cls.from_dict(data, source=src)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str | None = None) -> Profile:
        """Validate a parsed profile document and build a Profile."""
        return _parse(data, source)

    def summary(self) -> str:
        """A human-readable multi-line summary (used by ``alert check``)."""
        n_any = sum(m.kind == "anytime" for m in self.models)
        lines = [
            f"profile {self.name!r} (format {FORMAT} v{VERSION})",
            f"  platform: {self.metadata.get('platform', 'unknown')}",
            f"  models: {len(self.models)} ({len(self.models) - n_any} traditional, {n_any} anytime), "
            f"candidates: {self.shape[0]}, settings: {self.shape[1]} -> {self.shape[0] * self.shape[1]} configurations",
            f"  settings: {', '.join(s.name for s in self.settings)} [{self.unit}]",
            f"  q_fail: {self.q_fail:.4g}",
            f"  {'candidate':<22}{'accuracy':>9}{'t_min (ms)':>12}{'t_max (ms)':>12}{'p range':>16}",
        ]
        for c in self.candidates:
            t = self.t_prof[c.index] * 1e3
            p = self.power[c.index]
            lines.append(f"  {c.label:<22}{self.q[c.index]:>9.4f}{t.min():>12.3f}{t.max():>12.3f}"
                         f"{p.min():>8.3g}-{p.max():<7.3g}")
        return "\n".join(lines)


# ============================================================================ building from measurements
def measured_model(name: str, accuracy: Sequence[float] | np.ndarray, ends: np.ndarray,
                   power: Sequence[float] | np.ndarray, centre: Literal["mean", "median"] = "mean",
                   kind: ModelKind | None = None) -> Model:
    """A profile model from measured stage end times: the one place that turns measurements into
    a profile's numbers (``alert profile``, ``alert export-profile``, the sentence measurement and
    ``alert trace profile`` all use it).

    ``ends``: samples × stages × settings, each sample's cumulative stage end times. The latency is
    their mean (or ``centre="median"``) per stage and setting, kept non-decreasing over stages;
    beside it the sample standard deviation (none for a single sample) and the 95th percentile.
    ``power``: per setting, or per stage and setting. ``kind``: one stage makes a traditional
    model and several an anytime one unless given.
    """
    t = np.asarray(ends, dtype=float)
    if t.ndim != 3 or t.shape[0] < 1:
        raise ProfileError(None, f"models[{name}].latency", f"measurements of shape {t.shape}",
                           "give samples x stages x settings with at least one sample")
    k, L = t.shape[1], t.shape[2]
    mid = np.median(t, axis=0) if centre == "median" else t.mean(0)
    mid = np.maximum.accumulate(mid, axis=0)  # cumulative end times never decrease
    pw = np.asarray(power, dtype=float)
    return Model(name, kind or ("anytime" if k > 1 else "traditional"), np.asarray(accuracy, dtype=float).reshape(k),
                 mid, np.broadcast_to(pw.reshape(-1, L), (k, L)).copy(),
                 t.std(0, ddof=1) if t.shape[0] > 1 else None, np.percentile(t, 95, axis=0))


def build_profile(models: Sequence[Model], settings: Sequence[Setting], q_fail: float, name: str,
                  metadata: Mapping[str, Any] | None = None, source: str | None = None) -> Profile:
    """A profile of measured ``models``, validated like a profile file (``Profile.from_dict``:
    increasing stage end times, accuracies in [0, 1], positive latencies and powers); errors name
    ``source``, the field and the fix."""
    draft = Profile(tuple(models), tuple(settings), q_fail, name, dict(metadata or {}), source)
    return Profile.from_dict(draft.to_dict(), source=source or f"<measured profile {name}>")


# ============================================================================ validation
def _check_consistent(p: Profile) -> None:
    src = p.source
    if not p.models:
        raise ProfileError(src, "models", "no models", "list at least one model")
    if not p.settings:
        raise ProfileError(src, "settings", "no settings", "list at least one setting")
    names = [m.name for m in p.models]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ProfileError(src, "models", f"duplicate model names {sorted(dup)}", "give every model a unique name")
    snames = [s.name for s in p.settings]
    dup = {n for n in snames if snames.count(n) > 1}
    if dup:
        raise ProfileError(src, "settings", f"duplicate setting names {sorted(dup)}", "give every setting a unique name")
    units = {s.unit for s in p.settings}
    if len(units) > 1:
        raise ProfileError(src, "settings", f"mixed units {sorted(units)}",
                           "one profile describes one knob; use one unit for all settings")
    L = len(p.settings)
    for i, m in enumerate(p.models):
        for arr_name in ("latency", "power"):
            arr = getattr(m, arr_name)
            if arr.shape != (m.n_stages, L):
                raise ProfileError(src, f"models[{i}].{arr_name}",
                                   f"shape {arr.shape} but expected {(m.n_stages, L)} (stages x settings)",
                                   "give one value per setting (per stage for anytime models)")


#: the largest latency (s; 11.6 days) and power (W) a profile may hold: beyond them a number is no
#: measurement (and its energy, p·t, would overflow)
MAX_SECONDS = 1e6
MAX_POWER = 1e9
#: the fields a profile, a setting and a model may have (``to_dict`` writes them); any other is refused
ROOT_KEYS = frozenset({"format", "version", "name", "q_fail", "settings", "models", "metadata"})
SETTING_KEYS = frozenset({"name", "value", "unit", "idle_power"})
MODEL_KEYS = frozenset({"name", "kind", "accuracy", "latency", "power", "latency_std", "latency_p95"})


def _known(obj: Mapping[str, Any], keys: frozenset[str], where: str, src: str | None, fix: str = "") -> None:
    """A ProfileError naming the first field of ``obj`` (at ``where``; "" for the document) not in ``keys``."""
    unknown = sorted(set(map(str, obj)) - keys)
    if unknown:
        raise ProfileError(src, f"{where}.{unknown[0]}" if where else unknown[0],
                           f"unknown field ({'a profile' if not where else 'an entry here'} has {sorted(keys)})",
                           f"correct its name (a misspelt field would be ignored){fix}")


def _parse(data: Mapping[str, Any], source: str | None) -> Profile:
    src = source

    def err(fld: str, problem: str, fix: str = "") -> ProfileError:
        return ProfileError(src, fld, problem, fix)

    if not isinstance(data, Mapping):
        raise err("<root>", "the document is not a JSON object", "write a JSON object with the profile fields")
    if data.get("format") != FORMAT:
        raise err("format", f"expected {FORMAT!r}, got {data.get('format')!r}",
                  f"set \"format\": \"{FORMAT}\"")
    _known(data, ROOT_KEYS, "", src, " or move it into \"metadata\"")
    if isinstance(data.get("version"), bool) or data.get("version") != VERSION:
        raise err("version", f"unsupported schema version {data.get('version')!r}; this alert reads version {VERSION}",
                  "convert the profile or re-record it with this version")
    q_fail = _number(data, "q_fail", src, lo=0.0, hi=1.0)
    settings_raw = data.get("settings")
    if not isinstance(settings_raw, list) or not settings_raw:
        raise err("settings", "missing or empty list", "list the system settings, e.g. [{\"name\": \"25W\", ...}]")
    settings = []
    for j, s in enumerate(settings_raw):
        f = f"settings[{j}]"
        name = _entry_name(s, f, src, "setting", '{"name", "value", "unit", "idle_power"}')
        _known(s, SETTING_KEYS, f, src)
        unit = s.get("unit")
        if unit not in UNITS:
            raise err(f"{f}.unit", f"unknown unit {unit!r}", f"use one of {sorted(UNITS)}")
        value = _number(s, "value", src, prefix=f, lo=0.0, strict_lo=True)
        idle = _number(s, "idle_power", src, prefix=f, lo=0.0)
        settings.append(Setting(name, value, unit, idle))
    L = len(settings)
    models_raw = data.get("models")
    if not isinstance(models_raw, list) or not models_raw:
        raise err("models", "missing or empty list", "list the candidate DNNs")
    models = []
    for i, m in enumerate(models_raw):
        f = f"models[{i}]"
        name = _entry_name(m, f, src, "model", '{"name", "kind", "accuracy", "latency", ...}')
        _known(m, MODEL_KEYS, f, src)
        kind = m.get("kind", "traditional")
        if kind not in KINDS:
            raise err(f"{f}.kind", f"unknown kind {kind!r}", f"use one of {list(KINDS)}")
        anytime = kind == "anytime"
        acc = _array(m, "accuracy", src, f, ndim=1 if anytime else 0)
        acc = np.atleast_1d(acc)
        k = acc.shape[0]
        if k == 0:
            raise err(f"{f}.accuracy", "no stages", "give one accuracy per stage")
        bad = np.flatnonzero((acc < 0) | (acc > 1))
        if bad.size:
            raise err(f"{f}.accuracy[{bad[0]}]" if anytime else f"{f}.accuracy",
                      f"accuracy {acc[bad[0]]} outside [0, 1]", "give accuracy as a fraction, e.g. 0.91 not 91")
        shape = (k, L) if anytime else (L,)
        lat = _table(m, "latency", src, f, shape, positive=True)
        if "power" in m:
            pw_raw = m["power"]
            pw_shape = (k, L) if anytime and isinstance(pw_raw, list) and pw_raw and isinstance(pw_raw[0], list) else (L,)
            pw = _table(m, "power", src, f, pw_shape, positive=True)
            pw = np.broadcast_to(pw.reshape(-1, L), (k, L)).copy()
        elif settings[0].unit == "W":
            pw = np.broadcast_to(np.array([s.value for s in settings]), (k, L)).copy()
        else:
            raise err(f"{f}.power", "missing, and the settings are not power caps in W",
                      "give the measured inference power per setting")
        lat = lat.reshape(k, L)
        if anytime and k > 1:
            steps = np.argwhere(np.diff(lat, axis=0) <= 0)
            if steps.size:
                s, j = steps[0]
                raise err(f"{f}.latency[{s + 1}][{j}]",
                          f"stage end times must increase: stage {s + 2} ends at {lat[s + 1, j]} "
                          f"but stage {s + 1} at {lat[s, j]}",
                          "give cumulative end times of each stage, measured from the start of the input")
        extras = {}
        for opt in ("latency_std", "latency_p95"):
            if opt in m:
                extras[opt] = _table(m, opt, src, f, shape, positive=False).reshape(k, L)
        models.append(Model(name, kind, acc, lat, pw, **extras))
    metadata = data.get("metadata", {})
    if not isinstance(metadata, Mapping):
        raise err("metadata", "not an object", "write metadata as a JSON object")
    name = data.get("name", Path(src).stem if src else "profile")
    if not isinstance(name, str):
        raise err("name", "not a string", "give the profile a string name")
    return Profile(tuple(models), tuple(settings), q_fail, name, dict(metadata), src)


def _entry_name(obj: Any, fld: str, src: str | None, what: str, layout: str) -> str:
    """Check that a list entry is an object with a non-empty string name; return the name."""
    if not isinstance(obj, Mapping):
        raise ProfileError(src, fld, "not an object", f"write {layout}")
    name = obj.get("name")
    if not isinstance(name, str) or not name:
        raise ProfileError(src, f"{fld}.name", "missing or not a string", f"name every {what}")
    return name


def _finite_number(v: Any) -> bool:
    """A JSON number (not true/false) that is finite as a float (huge integers are not)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    try:
        return math.isfinite(v)
    except OverflowError:
        return False


def _numeric_tree(v: Any, depth: int = 0) -> bool:
    """Numbers, or lists of them nested at most three deep (a profile table is 1-D or 2-D)."""
    if isinstance(v, list):
        return depth < 3 and all(_numeric_tree(x, depth + 1) for x in v)
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _short(v: Any) -> str:
    r = repr(v)
    return r if len(r) <= 60 else r[:57] + "..."


def _number(obj: Mapping[str, Any], key: str, src: str | None, prefix: str = "", lo: float | None = None,
            hi: float | None = None, strict_lo: bool = False) -> float:
    fld = f"{prefix}.{key}" if prefix else key
    if key not in obj:
        raise ProfileError(src, fld, "missing", f"add the field '{key}'")
    v = obj[key]
    if not _finite_number(v):
        raise ProfileError(src, fld, f"expected a finite number, got {_short(v)}", "write a number")
    if lo is not None and (v < lo or (strict_lo and v == lo)):
        raise ProfileError(src, fld, f"value {v} must be {'>' if strict_lo else '>='} {lo}", "correct the value")
    if hi is not None and v > hi:
        raise ProfileError(src, fld, f"value {v} must be <= {hi}", "correct the value")
    return float(v)


def _array(obj: Mapping[str, Any], key: str, src: str | None, prefix: str, ndim: int) -> np.ndarray:
    fld = f"{prefix}.{key}"
    if key not in obj:
        raise ProfileError(src, fld, "missing", f"add the field '{key}'")
    v = obj[key]
    if ndim == 0:
        if not _finite_number(v):
            raise ProfileError(src, fld, f"expected a finite number, got {_short(v)}",
                               "a traditional model has one accuracy; an anytime model a list per stage")
        return np.asarray(float(v))
    return _table(obj, key, src, prefix, None, positive=False)


def _table(obj: Mapping[str, Any], key: str, src: str | None, prefix: str,
           shape: Sequence[int] | None, positive: bool) -> np.ndarray:
    fld = f"{prefix}.{key}"
    if key not in obj:
        raise ProfileError(src, fld, "missing", f"add the field '{key}'")
    v = obj[key]
    if not _numeric_tree(v):
        raise ProfileError(src, fld, "not a numeric table (text, true/false or null cells, or nested too deep)",
                           "give one number per cell; no missing cells")
    try:
        arr = np.asarray(v, dtype=float)
    except (TypeError, ValueError, OverflowError):
        raise ProfileError(src, fld, "not a numeric table (ragged or non-numeric cells, or a number too large)",
                           "give one number per cell; no missing cells") from None
    if shape is not None and arr.shape != tuple(shape):
        raise ProfileError(src, fld, f"shape {arr.shape}, expected {tuple(shape)} "
                           f"({'stages x settings' if len(shape) == 2 else 'one per setting'})",
                           "fill every cell: one value per setting (and per stage for anytime models)")
    bad = np.argwhere(~np.isfinite(arr))
    if bad.size:
        idx = "".join(f"[{int(x)}]" for x in bad[0])
        raise ProfileError(src, f"{fld}{idx}", "NaN or infinite value", "re-measure or remove that cell's model")
    bad = np.argwhere(arr <= 0) if positive else np.argwhere(arr < 0)
    if bad.size:
        idx = "".join(f"[{int(x)}]" for x in bad[0])
        raise ProfileError(src, f"{fld}{idx}",
                           f"value {arr[tuple(bad[0])]} must be {'> 0' if positive else '>= 0'}",
                           "latencies are in seconds and powers in watts; both must be positive")
    most = MAX_POWER if key == "power" else MAX_SECONDS
    bad = np.argwhere(arr > most)
    if bad.size:
        idx = "".join(f"[{int(x)}]" for x in bad[0])
        raise ProfileError(src, f"{fld}{idx}", f"value {arr[tuple(bad[0])]:g} is beyond {most:g} "
                           f"{'W' if key == 'power' else 's'}", "latencies are in seconds and powers in watts")
    return arr
