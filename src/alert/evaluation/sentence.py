"""The sentence task: word-by-word replay under sentence-wide deadlines (paper §3.2 step 2, Table 3
"Sentence Pred.": deadlines are not fixed per word).

A sentence trace is an ``alert-trace`` whose inputs are words, with the sentence lengths in
``metadata["sentence_lengths"]`` (``alert sentence trace`` records them on this machine). Every
sentence gets one deadline D; the words run one after another and each gets a budget T_w from a
sharing rule (``Controller.begin_sequence``: ``even`` = remaining / words left, ``greedy`` = all
that remains, ``reserve`` = all that remains minus μ·min t_prof per word left).

Per word, with the row's trace latency t (for the anytime model: the end time of each stage):

- traditional model: runs to completion; its word is correct-in-time (q_c) when the sentence's
  elapsed time after it is ≤ D, otherwise q_fail;
- anytime model stopped after stage k: the runtime stops it at its budget T_w, so it runs
  min(t_k, T_w) and delivers the q of the last stage finished by then (q_fail if none), as in
  ``replay.outcomes``.

A *sentence misses* when it ends after D, when its mean delivered accuracy is below the accuracy
goal, or when its energy (Σ p·run time + idle power × time left to D) exceeds P_goal·D. A
constraint setting is violated when more than 10 % of sentences miss (``metrics.violated``);
normalisation to OracleStatic and the averages are those of ``metrics.summarise``.

Schemes come from the registry (``alert.evaluation.schemes``, those with a ``sequence`` run):
``OracleStatic`` (best fixed configuration in hindsight; ``OracleStatic_strict``: the one that
meets every sentence), ``Oracle`` (best fixed configuration per sentence in hindsight: an upper
bound of any scheme that does not switch within a sentence, not of per-word switching), ALERT
variants (the library's ``Controller`` with a sharing rule; ``ALERT`` uses ``even``),
``Static_profile`` (the configuration the quiet profile says is best for a word's even share of
the sentence deadline and budget), ``App-only``, ``Sys-only`` and ``No-coord`` (the anytime or
fastest model with the Kalman power controller of ``powerctl``, each word targeting the even share).

An energy budget (min-error) is shared like the deadline: each word may use what remains of
P_goal·D after the words already run, divided over the words left. (Giving each word P_goal·T_w
instead counts the same slack twice: a fast word's unused time is booked as its idle energy and
again as a longer budget for the next word.)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from alert import outcome
from alert.evaluation import metrics
from alert.evaluation.metrics import Constraint, SettingResult
from alert.evaluation.powerctl import KalmanPowerController
from alert.evaluation.schemes import anytime_row, default_setting, fastest_traditional, replaying
from alert.evaluation.traces import Trace, TraceError
from alert.goals import MaximizeAccuracy
from alert.profile import Profile


def sentence_schemes() -> tuple[str, ...]:
    """The schemes of the sentence task: every registered scheme with a sequence run in the suite."""
    from alert.evaluation import schemes

    return schemes.names("sequence", suite=True)


def sentence_lengths(trace: Trace) -> np.ndarray:
    """Sentence lengths (words) of a sentence trace, checked against its number of inputs."""
    raw = trace.metadata.get("sentence_lengths")
    if raw is None:
        raise TraceError(trace.source, "metadata.sentence_lengths", "missing: this is not a sentence trace",
                         "record one with `alert sentence trace`")
    if not isinstance(raw, (list, tuple)) or not all(
            isinstance(x, (int, np.integer)) and not isinstance(x, bool) for x in raw):
        raise TraceError(trace.source, "metadata.sentence_lengths", "is not a list of whole numbers of words",
                         "re-record the trace with `alert sentence trace`")
    lengths = np.asarray(raw, dtype=np.int64)
    if lengths.ndim != 1 or (lengths < 1).any() or int(lengths.sum()) != trace.n_inputs:
        raise TraceError(trace.source, "metadata.sentence_lengths",
                         f"must be positive integers summing to the {trace.n_inputs} inputs "
                         f"(got sum {int(lengths.sum()) if lengths.ndim == 1 else '?'})",
                         "re-record the trace; do not cut it without cutting the lengths")
    return lengths


@dataclass(frozen=True)
class SentenceOutcome:
    """Per-sentence results of one scheme on one constraint setting (arrays of shape (sentences,))."""

    accuracy: np.ndarray
    energy: np.ndarray
    elapsed: np.ndarray
    late: np.ndarray
    words_late: int


class _Replay:
    """Shared state of one scheme's pass: trace arrays and per-word outcomes (``alert.outcome``)."""

    def __init__(self, trace: Trace, lengths: np.ndarray, c: Constraint) -> None:
        self.trace, self.lengths, self.c = trace, lengths, c
        self.p = trace.profile
        self.offsets = np.concatenate([[0], np.cumsum(lengths)])

    def word(self, n: int, c: int, j: int, budget: float, elapsed: float, D: float) -> tuple[outcome.InputOutcome, float]:
        """What word n delivers (its energy without idle: the sentence's idle comes after its last
        word) and the stop time of an anytime model: its budget, or what is left of D."""
        stop = min(budget, D - elapsed)
        o = outcome.input_outcome(self.p, c, self.trace.latency[n, :, j], D, stop=stop, start=elapsed,
                                  power=float(self.trace.power[n, c, j]), period=None)
        return o, stop

    def finish(self, accs: list[float], busy_energy: float, elapsed: float, j_last: int, s: int, D: float
               ) -> tuple[float, float]:
        """Mean accuracy and energy of sentence s: its words' energy and the idle time left to D."""
        idle_p = float(self.trace.idle_power[self.offsets[s + 1] - 1, j_last])
        return float(np.mean(accs)), busy_energy + outcome.idle_energy(idle_p, D, elapsed)


def _run(trace: Trace, lengths: np.ndarray, c: Constraint,
         chooser: Callable[[int, int, int, float, float], tuple[int, int, float]],
         begin: Callable[[int, int], None] = lambda s, L: None,
         observe: Callable[[int, int, int, outcome.InputOutcome, float], None] = lambda *a: None,
         sentences: Sequence[int] | None = None) -> SentenceOutcome:
    """Generic sequential replay. ``chooser(n, s, w, elapsed, D) -> (candidate, setting, budget)``."""
    r = _Replay(trace, lengths, c)
    D = c.deadline
    idx = range(len(lengths)) if sentences is None else sentences
    acc, en, el, late = [], [], [], []
    words_late = 0
    for s in idx:
        L = int(lengths[s])
        begin(s, L)
        elapsed, pt, accs, j = 0.0, 0.0, [], 0
        for w in range(L):
            n = int(r.offsets[s] + w)
            cand, j, budget = chooser(n, s, w, elapsed, D)
            o, stop = r.word(n, cand, j, budget, elapsed, D)
            elapsed += o.run_time
            pt += o.energy
            accs.append(o.accuracy)
            words_late += int(o.row < 0 or elapsed > D)
            observe(n, cand, j, o, stop)
        a_mean, e = r.finish(accs, pt, elapsed, j, s, D)
        acc.append(a_mean)
        en.append(e)
        el.append(elapsed)
        late.append(elapsed > D * (1 + metrics.REL_TOL))
    return SentenceOutcome(np.array(acc), np.array(en), np.array(el), np.array(late), words_late)


def evaluate(o: SentenceOutcome, c: Constraint) -> SettingResult:
    """The miss and violation rules applied to sentences."""
    m = metrics.misses(None, c, accuracy=o.accuracy, energy=o.energy, late=o.late)
    return SettingResult(float(metrics.objective(c, o.accuracy, o.energy)), float(m.mean()),
                         bool(m.mean() > metrics.VIOLATION_FRACTION))


def even_share(D: float, elapsed: float, L: int, w: int) -> float:
    """The even rule: what remains of D divided over the words left (word w is 0-based)."""
    return max((D - elapsed) / (L - w), 0.0)


# =============================================================================== schemes
def run_static(trace: Trace, lengths: np.ndarray, c: Constraint, cand: int, j: int,
               sentences: Sequence[int] | None = None) -> SentenceOutcome:
    """One fixed configuration for every word (an anytime row is stopped at the even share)."""
    return _run(trace, lengths, c, lambda n, s, w, e, D: (cand, j, even_share(D, e, int(lengths[s]), w)),
                sentences=sentences)


def _best(results: list[tuple[SettingResult, Any]], allowance: float = metrics.VIOLATION_FRACTION) -> Any:
    ok = [(r.objective, i) for i, (r, _) in enumerate(results) if r.miss_rate <= allowance]
    if ok:
        return results[min(ok)[1]][1]
    return results[min((r.miss_rate, r.objective, i) for i, (r, _) in enumerate(results))[2]][1]


_STATIC_CACHE: dict[tuple[int, bytes, Constraint], tuple[Trace, list[SentenceOutcome]]] = {}


def _all_static(trace: Trace, lengths: np.ndarray, c: Constraint) -> list[SentenceOutcome]:
    """Every fixed configuration on every sentence. The oracles share it: the last (trace,
    lengths, constraint) is kept, with the trace itself so that its id cannot be reused."""
    key = (id(trace), np.asarray(lengths).tobytes(), c)
    if key not in _STATIC_CACHE:
        C, L = trace.profile.shape
        _STATIC_CACHE.clear()
        _STATIC_CACHE[key] = (trace, [run_static(trace, lengths, c, k, j) for k in range(C) for j in range(L)])
    return _STATIC_CACHE[key][1]


def oracle_static(trace: Trace, lengths: np.ndarray, c: Constraint,
                  allowance: float = metrics.VIOLATION_FRACTION) -> SentenceOutcome:
    """The best fixed configuration in hindsight with at most ``allowance`` of sentences missing
    (0: every sentence met); when none qualifies, the fewest misses."""
    outs = _all_static(trace, lengths, c)
    return _best([(evaluate(o, c), o) for o in outs], allowance)


def oracle_per_sentence(trace: Trace, lengths: np.ndarray, c: Constraint) -> SentenceOutcome:
    """Per sentence, the cheapest (min-energy) or most accurate (min-error) fixed configuration that
    meets that sentence's constraints (the least-missing one when none does)."""
    outs = _all_static(trace, lengths, c)
    acc = np.stack([o.accuracy for o in outs])
    en = np.stack([o.energy for o in outs])
    late = np.stack([o.late for o in outs])
    el = np.stack([o.elapsed for o in outs])
    miss = metrics.misses(None, c, accuracy=acc, energy=en, late=late)
    score = c.goal().rank(acc, en)[0]
    pick = np.argmin(np.where(miss, np.inf, score), axis=0)
    none = miss.all(axis=0)
    pick = np.where(none, np.argmin(late * 2.0 + (score - score.min()) / (np.ptp(score) + 1e-12), axis=0), pick)
    s = np.arange(len(lengths))
    return SentenceOutcome(acc[pick, s], en[pick, s], el[pick, s], late[pick, s], 0)


def run_alert(trace: Trace, lengths: np.ndarray, c: Constraint, rule: str = "even", candidates: str = "all",
              mean_only: bool = False, pr_th: float | None = None, profile: Profile | None = None,
              **options: Any) -> SentenceOutcome:
    """The library's Controller with a sentence-wide deadline per sentence; ``options`` are further
    ``ControllerConfig`` fields (e.g. ``estimator="paper"``)."""
    from alert.controller import Controller, ControllerConfig

    tp = trace.profile
    cfg = ControllerConfig(candidates=candidates, mean_only=mean_only, overhead=0.0, **options)  # type: ignore[arg-type]
    ctl = Controller(profile or tp, c.goal(pr_th), cfg)
    index = {cd.label: cd.index for cd in tp.candidates}
    rowmap = [index[cd.label] for cd in ctl.profile.candidates]
    last: dict[str, Any] = {}

    def begin(s: int, L: int) -> None:
        ctl.begin_sequence(c.deadline, L, rule)  # type: ignore[arg-type]
        last["spent"], last["left"] = 0.0, L

    def choose(n: int, s: int, w: int, e: float, D: float) -> tuple[int, int, float]:
        if c.power_budget is not None:  # the sentence's energy budget is shared like its deadline
            share = max(c.power_budget * D - last["spent"], 1e-12) / last["left"]
            ctl.set_goal(MaximizeAccuracy(D, energy=share, pr_th=pr_th))
        d = ctl.decide()
        last["d"] = d
        return rowmap[d.candidate], d.setting, d.deadline

    def observe(n: int, cand: int, j: int, o: outcome.InputOutcome, stop: float) -> None:
        last["spent"] += o.energy
        last["left"] -= 1
        lat, _, stage = outcome.observation(tp, cand, o.row, o.output_time, stop)
        # The sentence clock advances by the time the word used (an anytime model stopped at its
        # budget ran past its last finished stage), not only by the observed latency. The word's
        # energy goes with it (ACI then sees a word that spent more than its share of the budget);
        # its period is its latency, since the words of a sentence run back to back and the idle
        # time comes after the last (no idle phase for the idle-power filter to read).
        ctl.observe(lat, energy=o.energy, period=lat, stage=stage, elapsed=o.run_time)

    with replaying():
        return _run(trace, lengths, c, choose, begin, observe)


def run_power_controlled(trace: Trace, lengths: np.ndarray, c: Constraint, row: int) -> SentenceOutcome:
    """A fixed model (row) with the Kalman latency power controller targeting the even share."""
    p = trace.profile
    pc = KalmanPowerController(p.t_prof[row], p.power[row], p.idle_power)

    spent = {"e": 0.0}

    def begin(s: int, L: int) -> None:
        spent["e"] = 0.0

    def choose(n: int, s: int, w: int, e: float, D: float) -> tuple[int, int, float]:
        left = int(lengths[s]) - w
        T = even_share(D, e, int(lengths[s]), w)
        budget = None if c.power_budget is None else max(c.power_budget * D - spent["e"], 1e-12) / left
        return row, pc.choose(max(T, 1e-12), budget), T

    def observe(n: int, cand: int, j: int, o: outcome.InputOutcome, stop: float) -> None:
        spent["e"] += o.energy
        pc.observe(o.run_time, j)

    return _run(trace, lengths, c, choose, begin, observe)


def run_static_profile(trace: Trace, lengths: np.ndarray, c: Constraint) -> SentenceOutcome:
    """``Static_profile``: the configuration the quiet profile says is best for a word given the
    even share of the sentence (deadline and energy budget over the mean sentence length)."""
    from alert.static import best_by_profile

    share = c.deadline / float(np.mean(lengths))
    row, j = best_by_profile(trace.profile, Constraint(c.task, share, c.accuracy, c.power_budget).goal())
    return run_static(trace, lengths, c, row, j)


def run_app_only(trace: Trace, lengths: np.ndarray, c: Constraint) -> SentenceOutcome:
    p = trace.profile
    return run_static(trace, lengths, c, anytime_row(p), default_setting(p))


def run_sys_only(trace: Trace, lengths: np.ndarray, c: Constraint) -> SentenceOutcome:
    return run_power_controlled(trace, lengths, c, fastest_traditional(trace.profile))


def run_no_coord(trace: Trace, lengths: np.ndarray, c: Constraint) -> SentenceOutcome:
    return run_power_controlled(trace, lengths, c, anytime_row(trace.profile))


def run_scheme(name: str, trace: Trace, lengths: np.ndarray, c: Constraint) -> SentenceOutcome:
    """The registered scheme ``name``'s sequence run (a clear error when it has none)."""
    from alert.evaluation import schemes

    try:
        s = schemes.get(name)
    except ValueError:
        raise ValueError(f"unknown sentence scheme {name!r}; use one of {', '.join(schemes.names('sequence'))}"
                         ) from None
    if s.sequence is None:
        raise ValueError(f"scheme {name!r} has no sentence (sequence) replay; use one of "
                         f"{', '.join(schemes.names('sequence'))}")
    return s.sequence(trace, lengths, c)


# =============================================================================== grids and the suite
def grid(trace: Trace, lengths: np.ndarray, task: str, n_deadlines: int = 6, n_goals: int = 4,
         lo: float = 0.4, hi: float = 2.0) -> list[Constraint]:
    """Table 3 for sentences: deadlines 0.4x-2x the mean sentence latency of the largest anytime
    model (last stage, default setting, quiet profile); goals as in ``metrics.grid``."""
    words = metrics.grid(trace.profile, task, n_deadlines, n_goals, lo, hi)  # type: ignore[arg-type]
    mean_len = float(np.mean(lengths))
    return [Constraint(k.task, k.deadline * mean_len, k.accuracy, k.power_budget) for k in words]


@dataclass(frozen=True)
class SentenceSuiteConfig:
    schemes: tuple[str, ...] = field(default_factory=sentence_schemes)
    n_deadlines: int = 6
    n_goals: int = 4
    max_sentences: int | None = None


def run_cell(trace: Trace, workload: str, cfg: SentenceSuiteConfig | None = None,
             platform: str = "cpu-local", variant: str = "recorded",
             skipped: Callable[[str, str, str], None] | None = None) -> list[dict[str, Any]]:
    """``results.json`` rows (task = sentence) for one recorded workload trace, both goal kinds.
    Schemes without a sequence run, or that the trace cannot support, are left out (``skipped``
    hears of each)."""
    from alert.evaluation import schemes, suite

    cfg = cfg or SentenceSuiteConfig()
    lengths = sentence_lengths(trace)
    if cfg.max_sentences is not None and cfg.max_sentences < len(lengths):
        n_inputs = int(lengths[: cfg.max_sentences].sum())
        trace = Trace(trace.profile, trace.latency[:n_inputs], trace.power[:n_inputs], trace.idle_power[:n_inputs],
                      None if trace.state is None else trace.state[:n_inputs], trace.state_names,
                      None if trace.correct is None else trace.correct[:n_inputs], trace.name,
                      {**trace.metadata, "sentence_lengths": lengths[: cfg.max_sentences].tolist()}, trace.source)
        lengths = lengths[: cfg.max_sentences]
    names, left_out = schemes.split_supported(cfg.schemes, trace.profile, "sequence")
    for name, why in left_out:
        if skipped is not None:
            skipped(trace.name, name, why)
    for b in (suite.BASELINE, suite.STRICT_BASELINE):
        if b not in names:
            names.append(b)
    rows = []
    for task in metrics.TASKS:
        cons = grid(trace, lengths, task, cfg.n_deadlines, cfg.n_goals)
        res: dict[str, list[SettingResult]] = {n: [] for n in names}
        for k in cons:
            for n in names:
                res[n].append(evaluate(run_scheme(n, trace, lengths, k), k))
        for r in suite.cell_rows(res):
            met = float(np.mean([1.0 - x.miss_rate for x in res[r["scheme"]]]))
            rows.append({"variant": variant, "platform": platform, "task": "sentence", "workload": workload,
                         "goal": task, **r, "sentences_met": round(met, 6), "sentences": int(len(lengths))})
    return rows


def _num(x: float) -> float | None:
    return None if not np.isfinite(x) else round(float(x), 6)


def table(rows: Sequence[dict[str, Any]]) -> str:
    """Text table: per workload and goal, each scheme's normalised objective (violated settings in
    brackets) and the share of (setting, sentence) tests that met every constraint."""
    lines = []
    keys = sorted({(r["workload"], r["goal"]) for r in rows})
    for w, g in keys:
        sub = [r for r in rows if r["workload"] == w and r["goal"] == g]
        lines.append(f"{w} / {g} ({sub[0]['settings']} settings, {sub[0]['sentences']} sentences; "
                     f"OracleStatic violates {sub[0]['baseline_violated']})")
        lines.append(f"  {'scheme':<14}{'normalized':>11}{'violated':>9}{'met %':>8}")
        for r in sub:
            norm = "-" if r["normalized"] is None else f"{r['normalized']:.3f}"
            lines.append(f"  {r['scheme']:<14}{norm:>11}{r['violated']:>9}{100 * r['sentences_met']:>8.1f}")
    return "\n".join(lines)


TRACE_DIR = __import__("pathlib").Path(__file__).resolve().parent.parent / "nlp" / "traces"
WORKLOADS: tuple[str, ...] = ("default", "memory", "compute")


def reproduce_rows(trace_dir: str | None = None, cfg: SentenceSuiteConfig | None = None,
                   progress: Callable[[Sequence[str]], Sequence[str]] | None = None,
                   variant: str = "recorded", skipped: Callable[[str, str, str], None] | None = None
                   ) -> list[dict[str, Any]]:
    """The sentence task's ``results.json`` rows for ``alert reproduce``: every recorded workload
    trace ``<trace_dir>/<workload>.npz`` (default: the traces shipped in ``alert/nlp/traces``).
    Workloads without a trace are skipped; no trace at all gives no rows."""
    from pathlib import Path

    folder = Path(trace_dir) if trace_dir else TRACE_DIR
    found = [w for w in WORKLOADS if (folder / f"{w}.npz").is_file()]
    rows: list[dict[str, Any]] = []
    for w in (progress(found) if progress else found):
        rows += run_cell(Trace.load(folder / f"{w}.npz"), w, cfg, variant=variant, skipped=skipped)
    return rows
