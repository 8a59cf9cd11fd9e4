"""The run figure: per input, the chosen model and system setting, the latency against the
deadline and the contention level, for a replayed recorded trace or an ``alert run`` log.

``load_run_log`` reads an ``alert run`` log (CSV, or JSON lines when the name ends in ``.jsonl``);
``from_timeline`` turns a replay (:func:`alert.evaluation.suite.timeline`) into the same series;
``draw_run`` draws one or more series (schemes) in one figure. matplotlib is an optional extra
(``alert-atc[eval]``), imported only when drawing.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from alert import strictjson
from alert.safeio import InputError

#: the columns of an ``alert run`` log the figure needs (alert.live.runtime.LOG_COLUMNS)
REQUIRED_COLUMNS = ("time_s", "deadline_s", "model", "stage", "setting", "setting_value", "response_s",
                    "met_deadline")
#: contention state names that mean "no contention" (drawn as level 0)
QUIET_STATES = ("", "none", "off", "quiet")
EXTRA = "alert-atc[eval]"


class RunLogError(InputError):
    """A run log the figure cannot be drawn from: names the file, the column and the fix."""


@dataclass(frozen=True)
class RunSeries:
    """One scheme's run, per input: ``x`` (seconds since the start, or the input index), the chosen
    model (with its anytime stage), the setting's value, the latency judged against the deadline
    (seconds), the deadline and the contention state's name ("" when none was recorded)."""

    label: str
    x: np.ndarray
    model: tuple[str, ...]
    setting: np.ndarray
    latency: np.ndarray
    deadline: np.ndarray
    state: tuple[str, ...]
    setting_unit: str = ""
    met: np.ndarray | None = None  # per input, the deadline was met (a log's own judgement), if known

    @property
    def setting_changes(self) -> int:
        """How often the system setting changes from one input to the next."""
        return int(np.count_nonzero(np.diff(self.setting)))

    @property
    def late(self) -> np.ndarray:
        """Per input, past its deadline: the log's ``met_deadline`` where given, else latency > deadline."""
        return ~self.met if self.met is not None else self.latency > self.deadline * (1 + 1e-9)

    @property
    def miss_rate(self) -> float:
        return float(np.mean(self.late)) if self.latency.size else 0.0


# ----------------------------------------------------------------------------- reading
def _model_label(model: str, stage: Any) -> str:
    s = "" if stage is None else str(stage).strip()
    return f"{model}@{s}" if s not in ("", "None", "0") else model


def _number(src: str, row: int, column: str, text: Any) -> float:
    try:
        v = float(text)
    except (TypeError, ValueError):
        raise RunLogError(src, column, f"input row {row}: not a number: {text!r}",
                          "the log must come from `alert run --log` unchanged") from None
    if not math.isfinite(v):
        raise RunLogError(src, column, f"input row {row}: not finite: {text!r}",
                          "the log must come from `alert run --log` unchanged")
    return v


def _series(src: str, records: list[dict[str, Any]], label: str, unit: str, goal: str = "") -> RunSeries:
    if not records:
        raise RunLogError(src, "<rows>", "the log has no input rows", "run `alert run --log LOG` with --inputs >= 1")
    missing = [c for c in REQUIRED_COLUMNS if c not in records[0]]
    if missing:
        raise RunLogError(src, missing[0], f"missing column(s) {', '.join(missing)}",
                          f"give a log written by `alert run --log` (columns {', '.join(REQUIRED_COLUMNS)})")
    num = {c: np.array([_number(src, i + 1, c, r[c]) for i, r in enumerate(records)])
           for c in ("time_s", "deadline_s", "setting_value", "response_s")}
    met = np.array([_flag(src, i + 1, r["met_deadline"]) for i, r in enumerate(records)])
    return RunSeries(label, num["time_s"], tuple(_model_label(str(r["model"]), r["stage"]) for r in records),
                     num["setting_value"], num["response_s"], _deadlines(records, num["deadline_s"], goal),
                     tuple(str(r.get("state") or "") for r in records), unit, met)


def _flag(src: str, row: int, text: Any) -> bool:
    if isinstance(text, bool):
        return text
    t = str(text).strip().lower()
    if t in ("true", "1"):
        return True
    if t in ("false", "0"):
        return False
    raise RunLogError(src, "met_deadline", f"input row {row}: not True or False: {text!r}",
                      "the log must come from `alert run --log` unchanged")


_GOAL_DEADLINE = re.compile(r"deadline=([0-9.eE+-]+)")


def _deadlines(records: list[dict[str, Any]], given: np.ndarray, goal: str = "") -> np.ndarray:
    """The input's real deadline, the goal's (``deadline_s`` is what the controller was given: the
    deadline less its overhead reserve, or a sequence's share); ``deadline_s`` where the goal has none.
    A row without a ``goal`` column has the log's ``goal`` (a JSON-lines log's header)."""
    out = given.copy()
    for i, r in enumerate(records):
        m = _GOAL_DEADLINE.search(str(r.get("goal") or goal))
        if m:
            try:
                v = float(m.group(1))
            except ValueError:
                continue
            if math.isfinite(v) and v > 0:
                out[i] = v
    return out


def load_run_log(path: str | Path, label: str | None = None) -> RunSeries:
    """The run of an ``alert run`` log: CSV (a header row of :data:`alert.live.runtime.LOG_COLUMNS`)
    or JSON lines (``.jsonl``: a header object, then one object per input). A log without the
    columns of :data:`REQUIRED_COLUMNS` raises :class:`RunLogError` naming the file and the column."""
    p = Path(path)
    src = str(path)
    try:
        text = p.read_text()
    except OSError as e:
        raise RunLogError(src, "<file>", f"cannot read it ({e.strerror or e})", "check the path") from None
    except UnicodeDecodeError:
        raise RunLogError(src, "<file>", "not a text file", "give the CSV or .jsonl log of `alert run --log`") from None
    unit = ""
    goal = ""
    if p.suffix == ".jsonl":
        records = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                doc = strictjson.loads(line)
            except ValueError as e:
                raise RunLogError(src, f"line {n}", f"not a JSON object ({e})",
                                  "give the .jsonl log of `alert run --log run.jsonl`") from None
            if not isinstance(doc, dict):
                raise RunLogError(src, f"line {n}", "not a JSON object", "give the .jsonl log of `alert run --log`")
            if doc.get("kind") == "header":
                unit, goal = str(doc.get("unit", "")), str(doc.get("goal", ""))
            elif doc.get("kind", "input") == "input":
                records.append(doc)
    else:
        rows = list(csv.DictReader(text.splitlines()))
        if not rows and text.strip():
            header = next(csv.reader(text.splitlines()), [])
            missing = [c for c in REQUIRED_COLUMNS if c not in header]
            if missing:
                raise RunLogError(src, missing[0], f"missing column(s) {', '.join(missing)}",
                                  f"give a log written by `alert run --log` (columns {', '.join(REQUIRED_COLUMNS)})")
        records = [dict(r) for r in rows]
        goal = str(records[0].get("goal", "")) if records else ""
    return _series(src, records, label or goal or p.name, unit, goal)


def from_timeline(tl: Any, trace: Any, label: str | None = None) -> RunSeries:
    """A replayed scheme (:class:`alert.evaluation.suite.Timeline`) on ``trace`` as a run series
    (x: the input index)."""
    prof = trace.profile
    n = tl.candidate.shape[0]
    names = [c.label for c in prof.candidates]
    st = trace.states()[:n]
    state = tuple(trace.state_names[s] if trace.state is not None else "" for s in st)
    return RunSeries(label or tl.scheme, np.arange(n, dtype=float), tuple(names[c] for c in tl.candidate),
                     np.asarray(prof.setting_values, dtype=float)[tl.setting], np.asarray(tl.latency, dtype=float),
                     np.full(n, float(tl.constraint.deadline)), state, prof.unit)


# ----------------------------------------------------------------------------- drawing
def is_quiet(state: str) -> bool:
    """No contention: a name of :data:`QUIET_STATES`, or a level of 0 (``memory-0``)."""
    s = state.strip().lower()
    if s in QUIET_STATES:
        return True
    try:
        return float(s.rsplit("-", 1)[-1]) == 0.0 and "-" in s
    except ValueError:
        return False


def state_order(names: Sequence[str]) -> list[str]:
    """Contention states from none to the heaviest: the quiet names first, then by the number at
    the end of the name (``memory-0.4``), then by name."""
    def key(s: str) -> tuple[int, float, str]:
        if is_quiet(s):
            return (0, 0.0, s)
        tail = s.rsplit("-", 1)[-1]
        try:
            return (1, float(tail), s)
        except ValueError:
            return (1, math.inf, s)
    return sorted(set(names), key=key)


def pyplot() -> Any:
    """matplotlib's pyplot with the Agg backend; a clear error naming the extra when it is missing."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError(f"drawing figures needs matplotlib, an optional extra: pip install '{EXTRA}'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def draw_run(series: Sequence[RunSeries], path: str | Path, title: str, xlabel: str = "time since start (s)") -> None:
    """Four panels sharing the x axis: latency against the deadline, the chosen model, the system
    setting and the contention state; one colour per series. Written as PNG to ``path``."""
    plt = pyplot()
    colours = ("tab:blue", "tab:orange", "tab:green", "tab:purple")
    models = list(dict.fromkeys(m for s in series for m in sorted(set(s.model))))
    states = state_order([x for s in series for x in s.state])
    fig, axes = plt.subplots(4, 1, figsize=(11, 10), sharex=True,
                             gridspec_kw={"height_ratios": [3, max(1.5, 0.35 * len(models)), 2, 1.2]})
    ax_lat, ax_mod, ax_set, ax_st = axes
    for k, (s, col) in enumerate(zip(series, colours, strict=False)):
        late = s.late
        ax_lat.plot(s.x, s.latency * 1e3, color=col, lw=1,
                    label=f"{s.label}: {100 * s.miss_rate:.0f} % late, {s.setting_changes} setting changes")
        ax_lat.plot(s.x[late], s.latency[late] * 1e3, "x", color=col, ms=5)
        off = (k - (len(series) - 1) / 2) * 0.18
        ax_mod.plot(s.x, np.array([models.index(m) for m in s.model]) + off, ".", color=col, ms=4)
        ax_set.step(s.x, s.setting, where="post", color=col, lw=1.5, label=s.label)
    d = series[0]
    ax_lat.step(d.x, d.deadline * 1e3, where="post", color="red", lw=1.5, label="deadline")
    ax_lat.set_ylabel("latency (ms)")
    ax_lat.set_ylim(bottom=0)
    ax_lat.legend(loc="best", fontsize=9)
    ax_mod.set_yticks(range(len(models)), models, fontsize=9)
    ax_mod.set_ylim(-0.6, len(models) - 0.4)
    ax_mod.set_ylabel("model")
    unit = next((s.setting_unit for s in series if s.setting_unit), "")
    ax_set.set_ylabel(f"setting ({unit})" if unit else "setting")
    if len(states) > 1 or (states and not is_quiet(states[0])):
        ax_st.step(d.x, [states.index(x) for x in d.state], where="post", color="0.3", lw=1.5)
        ax_st.set_yticks(range(len(states)), [x or "none" for x in states], fontsize=9)
        ax_st.set_ylim(-0.4, len(states) - 0.6)
        for ax in axes[:3]:
            on = np.array([not is_quiet(x) for x in d.state])
            if on.any():
                ax.fill_between(d.x, 0, 1, where=on, transform=ax.get_xaxis_transform(), color="0.9", step="post")
    else:
        ax_st.set_yticks([])
        ax_st.text(0.5, 0.5, "no contention recorded in this run", transform=ax_st.transAxes, ha="center",
                   va="center", fontsize=10, color="0.4")
    ax_st.set_ylabel("contention")
    ax_st.set_xlabel(xlabel + ("; grey: contention on" if len(states) > 1 else ""))
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_log(log: str | Path, out: str | Path) -> RunSeries:
    """Draw the run figure of an ``alert run`` log into ``out`` (PNG); returns the series drawn."""
    s = load_run_log(log)
    draw_run([s], out, f"alert run: {Path(log).name}, goal {s.label}: {len(s.x)} inputs, "
                       f"{100 * s.miss_rate:.0f} % past the deadline")
    return s
