"""The recorded platform of a real machine in the evaluation suite (``alert reproduce``).

A *measured platform* is a folder with ``profile.json`` (made with ``alert profile`` in the quiet
machine) and one recorded trace per workload, ``<workload>.npz`` or ``.csv`` (made with ``alert
trace record``; the ``.npz`` is read when both exist): ``default``, ``memory``, ``compute``, and any
other name (e.g. ``drift-compute``) except ``quiet``, the quiet recording the profile came from;
``examples/measured-cpu/`` is the one of this project's 2-core machine,
``examples/measured-cpu-drift/`` the same machine under a schedule of contention levels with a
slow drift. Its rows in ``results.json`` carry ``"measured": true`` and the cost they were evaluated
with:

- ``energy``: the energy the trace recorded. This machine has no energy counter (no RAPL, no
  NVML), so it is the CPU-time model of :class:`alert.system.meters.CpuTimeMeter` (busy
  core-seconds × W per core + idle W × time); the trace's metadata names the method.
- ``cpu-share``: the CPU reserved for the application. A CPU-time quota does not change the
  energy of an operation the way a power cap does (no frequency or voltage change), so the quota
  itself is the cost: ALERT's energy terms (Eq. 9) apply unchanged with the setting's cores as
  "power" and an idle ratio of 1 (the reservation holds while the DNN idles), giving core-seconds
  reserved per input.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from alert.evaluation import metrics, schemes
from alert.evaluation.traces import Trace, TraceError, is_trace_csv
from alert.profile import Profile, Setting

WORKLOADS: tuple[str, ...] = ("default", "memory", "compute")
#: trace files of a platform folder that are not workloads
NOT_WORKLOADS: tuple[str, ...] = ("quiet",)
COSTS: tuple[str, ...] = ("energy", "cpu-share")
#: the ALERT variants of :func:`bar_checks`
BAR_VARIANTS: tuple[str, ...] = ("ALERT", "ALERT_Pr90")


def measured_schemes() -> tuple[str, ...]:
    """The schemes of a measured platform: the registry's ``measured`` table (OracleStatic and
    OracleStatic_strict are always added)."""
    return schemes.names("image", report="measured")
DEFAULT_DIR = Path(__file__).resolve().parents[3] / "examples" / "measured-cpu"
#: the recorded platforms ``alert reproduce`` evaluates by default (those present in the source tree)
DEFAULT_DIRS: tuple[Path, ...] = (DEFAULT_DIR, DEFAULT_DIR.parent / "measured-gpu",
                                  DEFAULT_DIR.parent / "measured-cpu-drift")


@dataclass(frozen=True)
class MeasuredPlatform:
    """A recorded platform: its name, quiet profile and one trace per workload found."""

    name: str
    profile: Profile
    traces: dict[str, Trace]
    folder: Path

    @property
    def energy_method(self) -> str:
        methods = sorted({str(t.metadata.get("meter", "?")) for t in self.traces.values()})
        return "; ".join(methods)

    @property
    def costs(self) -> tuple[str, ...]:
        """``energy``, and ``cpu-share`` where the settings are CPU quotas (cores)."""
        return COSTS if self.profile.unit == "cores" else ("energy",)


def load_platform(folder: str | Path | None = None) -> MeasuredPlatform | None:
    """The platform in ``folder`` (default: ``examples/measured-cpu`` of the source tree), or None
    when there is no ``profile.json`` there. Every trace is checked against the profile."""
    root = Path(folder) if folder is not None else DEFAULT_DIR
    pfile = root / "profile.json"
    if not pfile.is_file():
        return None
    profile = Profile.load(pfile)
    traces = load_traces(root, profile)
    if not traces:
        raise TraceError(str(root), "<folder>", "profile.json but no workload trace (default, memory, compute "
                         "or another <workload>, as .npz or .csv)", "record them with examples/measured-cpu/record.sh")
    return MeasuredPlatform(profile.name, profile, traces, root)


def load_platforms(folders: Sequence[str | Path] | None = None) -> list[MeasuredPlatform]:
    """The platforms in ``folders``; by default those of :data:`DEFAULT_DIRS` that are present.
    A folder named explicitly must hold a platform."""
    out = []
    for f in folders if folders else DEFAULT_DIRS:
        p = load_platform(f)
        if p is None and folders:
            raise TraceError(str(f), "profile.json", "no profile.json there (no recorded platform)",
                             "record one (examples/measured-cpu/record.sh) or point at its folder")
        if p is not None:
            out.append(p)
    names = [p.name for p in out]
    if len(set(names)) < len(names):
        raise TraceError(", ".join(str(p.folder) for p in out), "profile.json name",
                         f"two platforms share a name ({names})", "give each recorded profile its own --name")
    return out


def workload_names(folder: str | Path) -> list[str]:
    """The workloads recorded in ``folder``: those of :data:`WORKLOADS` present (``.npz`` or
    ``.csv``), in that order, then every other ``<name>.npz`` or trace ``<name>.csv`` but
    :data:`NOT_WORKLOADS`, by name (a ``.csv`` is a trace when it starts with the trace header
    comment: other ``.csv`` files, e.g. live run logs, are not)."""
    root = Path(folder)
    names = {f.stem for f in root.glob("*.npz") if f.is_file()}
    names |= {w for w in WORKLOADS if (root / f"{w}.csv").is_file()}
    names |= {f.stem for f in root.glob("*.csv") if f.is_file() and is_trace_csv(f)}
    names -= set(NOT_WORKLOADS)
    return [w for w in WORKLOADS if w in names] + sorted(names - set(WORKLOADS))


def workload_order(w: str) -> tuple[int, str]:
    """Sort key of workload names: :data:`WORKLOADS` first, in order, then the others by name."""
    return (WORKLOADS.index(w), "") if w in WORKLOADS else (len(WORKLOADS), w)


def load_traces(folder: str | Path, profile: Profile) -> dict[str, Trace]:
    """The workload traces of ``folder`` (:func:`workload_names`; ``.npz``, else ``.csv``), each
    checked against ``profile`` and evaluated with it."""
    traces: dict[str, Trace] = {}
    for w in workload_names(folder):
        f = next(Path(folder) / f"{w}{ext}" for ext in (".npz", ".csv") if (Path(folder) / f"{w}{ext}").is_file())
        # checked against it: candidates, settings and units (traces.check_units)
        tr = Trace.load(f).in_order_of(profile).with_profile(profile)
        if tr.n_inputs < 2:
            raise TraceError(str(f), "latency", f"{tr.n_inputs} input: the evaluation needs at least 2 (the "
                             "cross-fitted oracles score each half of the inputs with the other's choice)",
                             "record more inputs")
        traces[w] = tr
    return traces


# ============================================================================ costs
def cpu_share_profile(profile: Profile) -> Profile:
    """``profile`` with every configuration's power = its setting's cores and idle power = cores."""
    cores = profile.setting_values
    models = tuple(dataclasses.replace(m, power=np.tile(cores, (m.n_stages, 1))) for m in profile.models)
    settings = tuple(Setting(s.name, s.value, s.unit, float(s.value)) for s in profile.settings)
    meta = {**profile.metadata, "cost": "cpu-share: power = reserved cores, idle ratio 1"}
    return Profile(models, settings, profile.q_fail, profile.name, meta, profile.source)


def cpu_share(trace: Trace) -> Trace:
    """The trace with the reserved CPU share as cost: power[n, c, j] = idle_power[n, j] = cores_j."""
    prof = cpu_share_profile(trace.profile)
    N, C, L = trace.shape
    cores = prof.setting_values
    return Trace(prof, trace.latency, np.broadcast_to(cores, (N, C, L)).copy(),
                 np.broadcast_to(cores, (N, L)).copy(), trace.state, trace.state_names, trace.correct,
                 trace.name, {**trace.metadata, "cost": "cpu-share"}, trace.source)


def with_cost(trace: Trace, cost: str) -> Trace:
    if cost == "energy":
        return trace
    if cost == "cpu-share":
        return cpu_share(trace)
    raise ValueError(f"cost {cost!r}: use one of {', '.join(COSTS)}")


# ============================================================================ suite rows
def run_cell(trace: Trace, scheme_names: Sequence[str], n_deadlines: int, n_goals: int,
             budgets: metrics.BudgetGrid = "trace", skipped: Callable[[str, str, str], None] | None = None
             ) -> list[dict[str, Any]]:
    """Both goal kinds of one (trace, cost): every scheme the trace supports over the Table-3 grid
    of the trace (power budgets per ``budgets``, see ``metrics.trace_grid``)."""
    from alert.evaluation import suite

    names, left_out = schemes.split_supported(scheme_names, trace.profile, "image")
    for n, why in left_out:
        if skipped is not None:
            skipped(trace.name, n, why)
    out = []
    for task in metrics.TASKS:
        grid = metrics.trace_grid(trace, task, n_deadlines, n_goals, budgets=budgets)  # type: ignore[arg-type]
        for r in suite.cell_rows(suite.run_settings(trace, grid, names)):
            out.append({"goal": task, **r})
    return out


def reproduce_rows(platform: MeasuredPlatform, n_deadlines: int = 8, n_goals: int = 5,
                   scheme_names: Sequence[str] | None = None, costs: Sequence[str] | None = None,
                   progress: Callable[[Iterable[Any]], Iterable[Any]] | None = None,
                   budgets: metrics.BudgetGrid = "trace",
                   skipped: Callable[[str, str, str], None] | None = None) -> list[dict[str, Any]]:
    """``results.json`` rows of a measured platform: (workload × cost × goal × scheme); ``costs``
    defaults to the platform's (:attr:`MeasuredPlatform.costs`), ``scheme_names`` to
    :func:`measured_schemes`."""
    names = measured_schemes() if scheme_names is None else tuple(scheme_names)
    units = [(w, c) for w in platform.traces for c in (platform.costs if costs is None else costs)]
    rows: list[dict[str, Any]] = []
    for w, cost in (progress(units) if progress else units):
        tr = with_cost(platform.traces[w], cost)
        method = (platform.energy_method if cost == "energy"
                  else "reserved CPU share: setting's cores x period (core-seconds), idle ratio 1")
        for r in run_cell(tr, names, n_deadlines, n_goals, budgets, skipped):
            rows.append({"variant": "measured", "platform": platform.name, "task": "image", "workload": w,
                         "cost": cost, "measured": True, "energy_method": method, "inputs": tr.n_inputs,
                         "budgets": budgets, **r})
    return rows


def _num(x: float) -> float | None:
    return None if not np.isfinite(x) else round(float(x), 6)


# ============================================================================ the bar
TOL = 1e-9


def bar_checks(rows: Sequence[dict[str, Any]], variants: Sequence[str] = BAR_VARIANTS) -> list[dict[str, Any]]:
    """Per (platform, cost, workload, goal): does an ALERT variant of ``variants`` reach the bar, at
    or below OracleStatic (normalised ≤ 1) with no more violated settings than OracleStatic plus
    one? The variant reported is one that passes (the lowest normalised objective, then the
    fewest violated settings, among those that pass); when none passes, the best by that order."""
    idx = {(r.get("platform", ""), r["cost"], r["workload"], r["goal"], r["scheme"]): r for r in rows if r.get("measured")}
    keys = sorted({k[:4] for k in idx}, key=lambda k: (k[0], COSTS.index(k[1]) if k[1] in COSTS else 9,
                                                       workload_order(k[2]), k[3]))
    out = []
    for k in keys:
        base = idx.get((*k, "OracleStatic"))
        cands = [idx[k + (s,)] for s in variants if k + (s,) in idx]
        if base is None or not cands:
            continue

        def order(r: dict[str, Any]) -> tuple[float, int]:
            v = r["normalized"]
            return (np.inf if v is None else v, r["violated_all"])

        def passes(r: dict[str, Any], base: dict[str, Any] = base) -> bool:
            v = r["normalized"]
            return v is not None and v <= 1.0 + TOL and r["violated_all"] <= base["baseline_violated"] + 1

        ok = [r for r in cands if passes(r)]
        best = min(ok or cands, key=order)
        out.append({"platform": k[0], "cost": k[1], "workload": k[2], "goal": k[3], "scheme": best["scheme"],
                    "normalized": best["normalized"],
                    "violated": best["violated_all"], "oracle_static_violated": base["baseline_violated"],
                    "settings": base["settings"], "holds": bool(ok)})
    return out


# ============================================================================ report section
def _cell(r: dict[str, Any] | None) -> str:
    if r is None:
        return "-"
    v = r["normalized"]
    s = "n/a" if v is None else f"{v:.2f}"
    n = r.get("violated_all", r["violated"])
    return s + (f"<sup>{n}</sup>" if n else "")


def energy_note(platform: MeasuredPlatform | None, rows: Sequence[dict[str, Any]]) -> str:
    """How the measured platform's energy was obtained, for the report (by the meter that recorded it)."""
    method = platform.energy_method if platform is not None else str(rows[0].get("energy_method", "?"))
    head = ("Rows of this section are **measured** (`\"measured\": true` in results.json): every input ran "
            "under every configuration on a real machine while the workload ran; the simulated platforms above "
            "are `\"measured\": false`. **How energy was obtained**: ")
    if method.startswith("nvml"):
        p = platform.profile if platform is not None else None
        if p is None or p.shape[1] == 1:
            setting = ("The recording was **read-only**: no clock, power limit or other device setting was "
                       "changed, so the platform has a single setting (the GPU as it is) and every scheme "
                       "chooses the model and the anytime stage only (Sys-only and No-coord reduce to one DNN at "
                       "that setting).")
        else:
            setting = (f"The {p.shape[1]} settings are the recorded {p.unit} settings of the GPU "
                       f"({', '.join(st.name for st in p.settings)}).")
        span = ""
        if p is not None and p.power.max() - p.power.min() <= 0.25 * p.power.max():
            span = (f" The recorded power spans {p.power.min():.1f}-{p.power.max():.1f} W over the configurations "
                    f"and the idle power is {p.idle_power.min():.1f} W: the GPU's power hardly depends on what "
                    "runs, so energy per input is close to power x period for every choice: the `E` rows differ "
                    "by deadline violations far more than by energy.")
        return (head + f"NVML power samples of the GPU ({method}), energy = integrated power x time, never one "
                "counter delta. " + setting + span)
    if "cpu-time" in method:
        return (head + f"the CPU-time model of the meter `{method}` (busy core-seconds x watts per core + idle "
                "watts x time; no energy counter was read). A CPU quota changes no frequency or voltage, so that "
                "energy depends little on the quota; the `cpu-share` cost (reserved cores x time, Eq. 9 with the "
                "setting's cores as power and an idle ratio of 1) is the one the quota actually controls.")
    return head + f"the meter `{method}` of the recording (power x time per configuration)."


def report_section(rows: Sequence[dict[str, Any]], platform: MeasuredPlatform | None = None,
                   fidelity: dict[str, Any] | None = None) -> str:
    """The markdown section of ``report.md`` for one measured platform's rows (``platform``'s, or
    those of the first measured platform named in ``rows``)."""
    mrows = [r for r in rows if r.get("measured")]
    if not mrows:
        return ""
    name = platform.name if platform is not None else mrows[0]["platform"]
    mrows = [r for r in mrows if r.get("platform") == name]
    if not mrows:
        return ""
    L = [f"## Measured platform `{name}` (real runs)", ""]
    if platform is not None:
        p, meta = platform.profile, platform.profile.metadata
        unit = "" if all(st.name.endswith(p.unit) for st in p.settings) else f" {p.unit}"
        load = meta.get("load_average")
        L += [f"Recorded profile and traces: `{platform.folder}`. {p.shape[0]} candidates "
              f"({', '.join(c.label for c in p.candidates)}) x {p.shape[1]} settings "
              f"({', '.join(s.name for s in p.settings)}{unit}; knob {meta.get('knob', '?')}). "
              f"Profile: {meta.get('method', '?')}"
              + (f"; load average {load} when profiling started." if load is not None else "."), ""]
        for w, t in platform.traces.items():
            m = t.metadata
            load = m.get("load_average_start")
            L.append(f"- `{w}`: {t.n_inputs} inputs of {m.get('batch', '?')} images, recorded in "
                     f"{m.get('seconds', '?')} s" + (f", load average {load} at the start" if load is not None else "")
                     + f"; {contention_note(t)}; p95/median of ξ per setting {_spread(t, p)}")
        L.append("")
    L += [energy_note(platform, mrows), ""]
    present = {r["scheme"] for r in mrows}
    show = [s for s in schemes.names(report="measured") if s != "OracleStatic" and s in present]
    for cost in COSTS:
        sub = [r for r in mrows if r["cost"] == cost]
        if not sub:
            continue
        idx = {(r["workload"], r["goal"], r["scheme"]): r for r in sub}
        L += [f"### Cost `{cost}` ({sub[0]['energy_method']})", "",
              "Normalised to OracleStatic (smaller is better; E: energy or reserved core-seconds per input, "
              "Err: error rate); superscript: settings the scheme violates (all of them, including those "
              "OracleStatic violates); last column: settings OracleStatic itself violates.", ""]
        from alert.evaluation.report import MAX_TABLE_COLUMNS, chunks

        for part in chunks(show, MAX_TABLE_COLUMNS - 4):
            head = ["Workload", "Goal"] + part + ["settings", "OracleStatic violated"]
            L += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
            for w in sorted({r["workload"] for r in sub}, key=workload_order):
                for g in metrics.TASKS:
                    base = idx.get((w, g, "OracleStatic"))
                    if base is None:
                        continue
                    L.append("| " + " | ".join([w, "E" if g == "min-energy" else "Err"]
                                               + [_cell(idx.get((w, g, s))) for s in part]
                                               + [str(base["settings"]), str(base["baseline_violated"])]) + " |")
            L.append("")
        L.pop()
        hopeless = sorted({f"{w}/{'E' if g == 'min-energy' else 'Err'}" for (w, g, sch), r in idx.items()
                           if sch == "OracleStatic" and r["baseline_violated"] >= r["settings"]})
        if hopeless:
            L += ["", f"n/a in {', '.join(hopeless)}: OracleStatic itself violates every setting there (no "
                  "configuration meets those goals on this recording), so nothing is normalised."]
        L.append("")
    checks = bar_checks(mrows)
    if checks:
        held = sum(c["holds"] for c in checks)
        L += [f"### The bar: the better ALERT variant at or below OracleStatic with at most OracleStatic's "
              f"violations + 1 ({held} of {len(checks)} cells hold)", ""]
        if held < len(checks):
            L += ["Where it does not hold, the slowdown on a real machine is far noisier than a normal model "
                  "assumes (see the p95/median of ξ above"
                  + ("; bimodal under a CFS quota" if platform is not None and platform.profile.unit == "cores"
                     else "") + "); docs/measured.md gives the numbers.", ""]
        for c in checks:
            v = "n/a" if c["normalized"] is None else f"{c['normalized']:.3f}"
            L.append(f"- **{'holds' if c['holds'] else 'does not hold'}**: {c['cost']} / {c['workload']} / "
                     f"{c['goal']}: {c['scheme']} {v}, violates {c['violated']} of {c['settings']} "
                     f"(OracleStatic {c['oracle_static_violated']})")
        L.append("")
    if fidelity:
        L += [fidelity_markdown(fidelity), ""]
    return "\n".join(L)


def contention_note(trace: Trace) -> str:
    """How the trace's contention ran, e.g. 'contention on for 45 % of inputs (memory, 8 s on / 8 s
    off)' or, for a level schedule, the share of inputs per level and the drift."""
    m = trace.metadata.get("contention")
    st = trace.states()
    if not m or m.get("schedule") != "levels":
        on = float(np.mean(st > 0))
        return f"contention on for {100 * on:.0f} % of inputs" + (
            f" ({m['kind']}, {m['on_s']} s on / {m['off_s']} s off)" if m else "")
    steps = ", ".join(f"{lv:g} for {sec:g} s" for lv, sec in m["steps"])
    shares = ", ".join(f"{trace.state_names[k]} {100 * np.mean(st == k):.0f} %" for k in range(len(trace.state_names)))
    drift = (f", plus a {m['drift_shape']} drift of up to {m['drift_amplitude']:g} over {m['drift_period_s']:g} s"
             if m.get("drift_amplitude") else "")
    return f"{m['kind']} contention, levels (share of {m['workers']} workers busy) {steps}{drift}; inputs per level: {shares}"


def _spread(trace: Trace, profile: Profile) -> str:
    """p95/median of ξ = t / t_prof per setting, e.g. '1.4-3.6 (off), 2.2-13 (on)'."""
    xi = trace.latency / profile.t_prof[None]
    parts = []
    for s in np.unique(trace.states()):
        q = xi[trace.states() == s]
        r = np.percentile(q, 95, axis=(0, 1)) / np.median(q, axis=(0, 1))
        name = trace.state_names[s] if trace.state is not None else "quiet"
        parts.append(f"{r.min():.1f}-{r.max():.1f} ({name})")
    return ", ".join(parts)


def fidelity_markdown(doc: dict[str, Any]) -> str:
    """Table of the live-vs-replay comparison (``fidelity.json`` of :mod:`alert.evaluation.fidelity`)."""
    L = ["### Fidelity: live `alert run` of ALERT vs replay of the recorded trace", "",
         f"Replayed scheme `{doc.get('scheme', 'ALERT')}`" + (f", traces of `{doc['traces']}` (recorded next to the "
                                                              "live runs)" if doc.get("traces") else "") +
         "; replays weighted to the live run's share of contended inputs.", "",
         "| workload | goal | inputs | contended live / trace | live energy (J) | replay energy (J) | gap "
         "| live accuracy | replay accuracy | gap | live miss % | replay miss % |",
         "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in doc.get("runs", []):
        sh = r.get("contended_share")
        share = f"{100 * sh['live']:.0f} % / {100 * sh['trace']:.0f} %" if sh else "-"
        L.append(f"| {r['workload']} | `{r['goal']}` | {r['live']['inputs']} | {share} | {r['live']['energy']:.4f} | "
                 f"{r['replay']['energy']:.4f} | {100 * r['gap']['energy']:+.1f} % | {r['live']['accuracy']:.4f} | "
                 f"{r['replay']['accuracy']:.4f} | {100 * r['gap']['accuracy']:+.1f} % | "
                 f"{100 * r['live']['miss_rate']:.1f} | {100 * r['replay']['miss_rate']:.1f} |")
    labels = [("per_workload", "replay as in the suite"),
              ("per_workload_overhead", "replay charging the live controller's median overhead"),
              ("per_workload_overhead_draws", "each input charged its own overhead, drawn from the live ones"),
              ("per_workload_runtime", "as before, and the runtime's own time (decide, apply, observe) charged at "
                                       "one busy core of the CPU-time model"),
              ("per_workload_platform", "replay of the platform's committed trace"),
              ("per_workload_drift", "drift: fresh trace vs committed trace, both replayed")]
    present = [(k, lab) for k, lab in labels if doc.get(k)]
    if present:
        L += ["", "Mean absolute gap per workload: energy / accuracy (relative) / miss rate (points):", "",
              "| workload | " + " | ".join(lab for _, lab in present) + " |", "|---" * (len(present) + 1) + "|"]
        for w in doc[present[0][0]]:
            cells = [(lambda g: f"{100 * g['energy']:.1f} % / {100 * g['accuracy']:.1f} % / "
                      f"{100 * g['miss_rate']:.1f}")(doc[k][w]) if w in doc[k] else "-" for k, _ in present]
            L.append(f"| {w} | " + " | ".join(cells) + " |")
    return "\n".join(L)


def load_fidelity(folder: str | Path | None) -> dict[str, Any] | None:
    from alert.safeio import read_json

    f = Path(folder if folder is not None else DEFAULT_DIR) / "fidelity.json"
    return read_json(f) if f.is_file() else None
