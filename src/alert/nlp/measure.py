"""Measure the sentence family on this machine: test perplexity/accuracy per model and stage,
per-word latency, an ALERT profile, and per-word traces under the three workloads."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from alert.profile import Model, Profile, Setting, build_profile, measured_model

from .data import EOS, Corpus


@dataclass(frozen=True)
class MeasureConfig:
    models: tuple[str, ...] = ("ptb-lstm-32", "ptb-lstm-64", "ptb-lstm-128", "ptb-nested")
    weights_dir: str | None = None
    sentences: int = 100
    power: float = 10.0          # nominal W per core (no energy meter on this machine)
    idle_power: float = 2.0
    limit_tokens: int | None = None

    def __post_init__(self) -> None:
        if self.sentences < 1:
            raise ValueError(f"--sentences must be >= 1, got {self.sentences}")
        if not (self.power > 0 and self.idle_power >= 0):
            raise ValueError("--power must be > 0 and --idle-power >= 0 (watts)")


def measure_family(corpus: Corpus, cfg: MeasureConfig) -> tuple[str, list[dict[str, Any]], Profile]:
    """(printable table, rows, one-setting profile) for the family named in ``cfg``."""
    from .record import record_words
    from .runtime import SentenceFamily, load_family
    from .train import evaluate

    models = load_family(cfg.models, cfg.weights_dir)
    ids = corpus.ids["test"] if cfg.limit_tokens is None else corpus.ids["test"][: cfg.limit_tokens]
    fam = SentenceFamily(models, "sync")
    sents = list(corpus.sentences("test", cfg.sentences))
    wt = record_words(fam, sents, corpus.vocab.index(EOS))
    own = _own_cost(models, sents, corpus.vocab.index(EOS))
    rows: list[dict[str, Any]] = []
    pm: list[Model] = []
    for name, m in models.items():
        met = evaluate(m, ids)
        cols = [c for c, cd in enumerate(fam.candidates) if cd.model == name]
        for k, c in enumerate(cols):
            lat = wt.latency[:, c]
            rows.append({"model": name, "stage": k + 1 if m.n_stages > 1 else None, "width": m.widths[k],
                         "perplexity": met["perplexity"][k], "accuracy": met["accuracy"][k],
                         "word_ms_sync_mean": 1e3 * float(lat.mean()), "word_ms_sync_p95": 1e3 * float(np.percentile(lat, 95)),
                         "word_ms_own_mean": 1e3 * float(own[name][k])})
        pm.append(measured_model(name, met["accuracy"], wt.latency[:, cols, None], [cfg.power]))
    profile = build_profile(pm, (Setting("1core", 1.0, "cores", cfg.idle_power),), corpus.q_fail("test"),
                            "ptb-sentence-cpu", {"method": "alert sentence profile", "words": int(wt.latency.shape[0]),
                                                 "power": "nominal", "latency": "per word, sync state policy"})
    head = f"{'model':<14}{'stage':>6}{'width':>6}{'perplexity':>12}{'accuracy':>10}{'ms/word':>9}{'p95':>8}{'own ms':>8}"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['model']:<14}{r['stage'] or '-':>6}{r['width']:>6}{r['perplexity']:>12.1f}{r['accuracy']:>10.4f}"
                     f"{r['word_ms_sync_mean']:>9.3f}{r['word_ms_sync_p95']:>8.3f}{r['word_ms_own_mean']:>8.3f}")
    lines.append(f"q_fail (most frequent word '{corpus.vocab.words[corpus.most_frequent()]}'): {corpus.q_fail('test'):.4f}")
    return "\n".join(lines), rows, profile


def _own_cost(models: dict[str, Any], sents: list[np.ndarray], eos: int) -> dict[str, list[float]]:
    """Mean per-word time to each stage's output when only that model runs (``stale`` policy)."""
    from .runtime import SentenceFamily

    out = {}
    for name, m in models.items():
        fam = SentenceFamily({name: m}, "stale")
        cand = fam.candidates[-1]
        ends = []
        prev = eos
        for s in sents:
            for tok in s.tolist():
                ends.append(fam.step(prev, cand).stage_ends)
                prev = tok
        out[name] = np.mean(np.asarray(ends), axis=0).tolist()
    return out


@dataclass(frozen=True)
class TraceConfig(MeasureConfig):
    workloads: tuple[str, ...] = ("default", "memory", "compute")
    on_s: float = 2.0
    off_s: float = 2.0
    knob: str = "none"
    settings: tuple[float, ...] = ()
    cfs_period_us: int = 4000


@contextlib.contextmanager
def _contention(kind: str, on_s: float, off_s: float) -> Iterator[Any]:
    if kind == "default":
        yield None
        return
    from alert.system.contend import Contention, ContentionConfig

    with Contention(ContentionConfig(kind, on_s, off_s)) as c:  # type: ignore[arg-type]
        yield c


def record_traces(corpus: Corpus, cfg: TraceConfig, out: Path) -> list[Path]:
    """One ``<workload>.npz`` sentence trace per workload; the embedded profile (t_prof) is the mean
    of the ``default`` workload when it is recorded (the quiet profile), else of the trace itself."""
    from alert.evaluation.traces import TraceBuilder

    from .record import record_words
    from .runtime import SentenceFamily, load_family

    models = load_family(cfg.models, cfg.weights_dir)
    fam = SentenceFamily(models, "sync")
    sents = list(corpus.sentences("test", cfg.sentences))
    eos = corpus.vocab.index(EOS)
    acc = {}
    from .train import evaluate
    for name, m in models.items():
        acc[name] = evaluate(m, corpus.ids["test"] if cfg.limit_tokens is None else corpus.ids["test"][: cfg.limit_tokens])["accuracy"]
    knob, values = None, [1.0]
    guard: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
    if cfg.knob == "cgroup":
        from alert.system.cgroup import CgroupConfig, CgroupCpuQuota
        from alert.system.guard import KnobGuard
        if not cfg.settings:
            raise ValueError("--knob cgroup needs --settings (CPU quotas in cores, e.g. 0.5 1)")
        knob = CgroupCpuQuota(CgroupConfig(period_us=cfg.cfs_period_us))
        values = [knob.check(v) for v in cfg.settings]
        guard = KnobGuard([knob])
    elif cfg.knob != "none":
        raise ValueError(f"--knob must be 'none' or 'cgroup', got {cfg.knob!r}")
    recorded: dict[str, list[Any]] = {}
    with guard:
        for w in cfg.workloads:
            per_setting = []
            with _contention(w, cfg.on_s, cfg.off_s) as cont:
                state_fn = (lambda: 0) if cont is None else (lambda: int(cont.is_on()))
                for v in values:
                    if knob is not None:
                        knob.apply(v)
                    per_setting.append(record_words(fam, sents, eos, state_fn))
            recorded[w] = per_setting
    out.mkdir(parents=True, exist_ok=True)
    cols = {name: [c for c, cd in enumerate(fam.candidates) if cd.model == name] for name in models}  # stage order
    quiet = recorded.get("default")
    paths = []
    for w, per in recorded.items():
        lat = np.stack([p.latency for p in per], axis=2)                     # (N, family candidates, L)
        ref = np.stack([p.latency for p in (quiet or per)], axis=2)
        settings = tuple(Setting(f"{v:g}cores", float(v), "cores", cfg.idle_power) for v in values)
        pw = np.array([cfg.power * v for v in values])
        prof = build_profile([measured_model(name, acc[name], ref[:, cols[name], :], pw) for name in models],
                             settings, corpus.q_fail("test"), "ptb-sentence-cpu",
                             {"method": "alert sentence trace", "power": "nominal", "knob": cfg.knob})
        tb = TraceBuilder(prof, lat.shape[0])
        for name in models:
            for j in range(len(values)):
                tb.put(name, j, lat[:, cols[name], j])
            tb.put_correct(name, per[0].correct[:, cols[name]])
        tr = tb.build(f"sentence-{w}", {"workload": w, "sentence_lengths": per[0].lengths.tolist(),
                                         "source": "alert sentence trace", "on_s": cfg.on_s, "off_s": cfg.off_s,
                                         "state_policy": "sync"},
                      per[0].state, ("none",) if w == "default" else ("none", w))
        path = out / f"{w}.npz"
        tr.save(path)
        paths.append(path)
    return paths
