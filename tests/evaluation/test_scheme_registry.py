"""The scheme registry: every registered scheme honours the contract of each capability it claims,
a toy scheme registered from this file alone runs through the commands, and schemes a trace
cannot support are skipped with a note."""

from __future__ import annotations

import json

import numpy as np
import pytest
from eval_helpers import tiny_profile, tiny_trace

from alert import cli
from alert.controller import Controller, ControllerConfig, Decision
from alert.evaluation import metrics, schemes, sentence, suite
from alert.evaluation.metrics import Constraint
from alert.evaluation.replay import deliver, outcomes
from alert.evaluation.traces import Trace
from alert.goals import MaximizeAccuracy, MinimizeEnergy
from alert.profile import Profile


def _image_trace(n: int = 24) -> Trace:
    rng = np.random.default_rng(3)
    prof = tiny_profile()
    lat = prof.t_prof[None] * rng.uniform(0.9, 1.6, (n, 1, 1))
    return tiny_trace(lat, state=(np.arange(n) >= n // 2).astype(np.int64))


def _sentence_trace() -> tuple[Trace, np.ndarray]:
    prof = tiny_profile()
    lengths = np.array([3, 2, 4])
    n = int(lengths.sum())
    rng = np.random.default_rng(4)
    lat = prof.t_prof[None] * rng.uniform(0.9, 1.3, (n, 1, 1))
    tr = tiny_trace(lat)
    return Trace(tr.profile, tr.latency, tr.power, tr.idle_power, metadata={"sentence_lengths": lengths.tolist()}), \
        lengths


CONSTRAINTS = (Constraint("min-energy", 0.09, accuracy=0.75), Constraint("min-error", 0.09, power_budget=12.0))


# ------------------------------------------------------------------ conformance of every registered scheme
@pytest.mark.parametrize("name", schemes.names("image"))
def test_every_image_scheme_returns_valid_deterministic_choices(name):
    tr = _image_trace()
    C, L = tr.profile.shape
    s = schemes.get(name)
    assert s.unsupported(tr.profile, "image") is None
    for c in CONSTRAINTS:
        out = outcomes(tr, c.deadline, preempt=s.preempt)
        ctx = schemes.SchemeContext(tr, out, c, tr.profile)
        a, b = s(ctx), s(ctx)
        assert a.candidate.shape == a.setting.shape == (tr.n_inputs,)
        assert ((0 <= a.candidate) & (a.candidate < C)).all() and ((0 <= a.setting) & (a.setting < L)).all()
        assert np.array_equal(a.candidate, b.candidate) and np.array_equal(a.setting, b.setting)
        r = metrics.evaluate(deliver(out, a.candidate, a.setting), c)
        assert np.isfinite(r.objective) and 0.0 <= r.miss_rate <= 1.0


@pytest.mark.parametrize("name", schemes.names("sequence"))
def test_every_sequence_scheme_returns_one_outcome_per_sentence(name):
    tr, lengths = _sentence_trace()
    for c in CONSTRAINTS:
        c = Constraint(c.task, c.deadline * 3, c.accuracy, c.power_budget)
        o = sentence.run_scheme(name, tr, lengths, c)
        assert o.accuracy.shape == o.energy.shape == o.late.shape == (len(lengths),)
        assert np.isfinite(o.energy).all() and (o.energy >= 0).all()
        assert ((o.accuracy >= tr.profile.q_fail - 1e-12) & (o.accuracy <= 1)).all()


@pytest.mark.parametrize("name", schemes.names("live"))
def test_every_live_scheme_decides_and_observes(name):
    prof = tiny_profile()
    for goal in (MinimizeEnergy(0.09, 0.75), MaximizeAccuracy(0.09, power=12.0)):
        pol = schemes.get(name).live(prof, goal)
        assert pol.profile is not None and pol.goal is not None
        for _ in range(3):
            d = pol.decide()
            assert isinstance(d, Decision) and 0 <= d.candidate < prof.shape[0] and 0 <= d.setting < prof.shape[1]
            pol.observe(latency=float(prof.t_prof[d.candidate, d.setting]) * 1.1)


def test_scheme_flags_and_lines():
    for s in schemes.registered():
        assert s.line().split()[0] == s.name
        f = s.flags()
        assert f["capabilities"] == list(s.capabilities()) and set(f["capabilities"]) <= set(schemes.CAPABILITIES)
        assert not (s.hindsight and s.live is not None)   # an oracle cannot run live
    assert schemes.get("App-only").needs() == ("anytime",)
    assert schemes.get("Sys-only").needs() == ("traditional",)
    assert set(schemes.names(report="fair")) >= {"ALERT", "ALERT_paper", "Static_profile", "OracleStatic"}


def test_alert_is_the_default_config_and_the_paper_variants_keep_the_paper_preset(monkeypatch):
    seen: dict[str, ControllerConfig] = {}
    real = Controller.__init__

    def spy(self, profile, goal, config=None):
        seen["cfg"] = config
        real(self, profile, goal, config)

    monkeypatch.setattr(Controller, "__init__", spy)
    tr = _image_trace(4)
    c = CONSTRAINTS[0]
    ctx = schemes.SchemeContext(tr, outcomes(tr, c.deadline), c, tr.profile)
    default = ControllerConfig().estimator
    for name, est in (("ALERT", default), ("ALERT_Pr90", default), ("ALERT_paper", "paper"), ("ALERT_Any", "paper"),
                      ("ALERT_Trad", "paper"), ("ALERT*", "paper")):
        schemes.get(name)(ctx)
        assert seen["cfg"].estimator == est, name
        # everything else is the default configuration (apart from what the variant sets)
        base = {k: v for k, v in vars(ControllerConfig(overhead=0.0)).items() if k not in ("estimator_params",)}
        got = {k: v for k, v in vars(seen["cfg"]).items() if k not in ("estimator_params",)}
        changed = {k for k in base if base[k] != got[k]}
        assert changed <= {"estimator", "candidates", "mean_only"}, (name, changed)


def test_registry_rejects_duplicates_and_unknown_names():
    with pytest.raises(ValueError, match="already registered"):
        schemes.register(schemes.Scheme("ALERT", "dup", image=lambda ctx: None))
    with pytest.raises(ValueError, match="unknown scheme 'Nope'"):
        schemes.get("Nope")
    with pytest.raises(ValueError, match="at least one of"):
        schemes.Scheme("Empty", "no capability")
    with pytest.raises(ValueError, match="name"):
        schemes.Scheme("two words", "bad", image=lambda ctx: None)


# ------------------------------------------------------------------ a toy scheme from this file alone
def _toy(ctx: schemes.SchemeContext) -> schemes.Choices:
    """Always the last candidate row at the lowest setting."""
    N = ctx.trace.n_inputs
    return schemes.Choices(np.full(N, ctx.trace.profile.shape[0] - 1), np.zeros(N, dtype=np.intp))


@pytest.fixture
def toy():
    s = schemes.register(schemes.Scheme("Toy", "a test scheme", image=_toy, reports=frozenset({"table4"})))
    yield s
    schemes.unregister("Toy")


def test_toy_scheme_runs_in_the_suite_and_alert_evaluate(toy, tmp_path, capsys):
    assert "Toy" in suite.suite_schemes() and "Toy" in suite.SuiteConfig().schemes
    tr = _image_trace()
    path = tmp_path / "t.npz"
    tr.save(path)
    assert cli.main(["evaluate", "--trace", str(path), "--grid", "min-energy", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert "Toy" in out["schemes"]
    # what the toy delivered, computed by hand: nest@2 at 10 W, every input, every setting of the grid
    grid = metrics.grid(tr.profile, "min-energy")
    for i, c in enumerate(grid):
        o = outcomes(tr, c.deadline)
        assert out["schemes"]["Toy"]["objective"][i] == pytest.approx(float(o.energy[:, 2, 0].mean()))


def test_evaluate_skips_schemes_a_trace_cannot_support(tmp_path, capsys):
    prof = Profile.from_dict({
        "format": "alert-profile", "version": 1, "name": "trad-only", "q_fail": 0.1,
        "settings": [{"name": "10W", "value": 10.0, "unit": "W", "idle_power": 2.0},
                     {"name": "20W", "value": 20.0, "unit": "W", "idle_power": 4.0}],
        "models": [{"name": "a", "kind": "traditional", "accuracy": 0.8, "latency": [0.04, 0.02], "power": [10., 20.]},
                   {"name": "b", "kind": "traditional", "accuracy": 0.9, "latency": [0.1, 0.05], "power": [10., 20.]}]})
    lat = np.broadcast_to(prof.t_prof, (10, 2, 2)).copy()
    tr = Trace(prof, lat, np.broadcast_to(prof.power, lat.shape).copy(), np.broadcast_to(prof.idle_power, (10, 2)).copy())
    tr.save(tmp_path / "t.npz")
    assert cli.main(["evaluate", "--trace", str(tmp_path / "t.npz"), "--goal",
                     "min-energy:deadline=0.06,accuracy=0.85", "--json"]) == 0
    cap = capsys.readouterr()
    out = json.loads(cap.out)
    notes = [ln for ln in cap.err.splitlines() if ln.startswith("note: skipping scheme")]
    for name in ("App-only", "No-coord", "ALERT_Any"):
        assert name not in out["schemes"] and out["skipped"][name] == "no anytime model in the profile"
        assert any(f"'{name}'" in ln and ln.endswith("no anytime model in the profile") for ln in notes)
    assert len(notes) == 3
    assert {"ALERT", "Sys-only", "Static_profile", "OracleStatic"} <= set(out["schemes"])


def test_alert_schemes_prints_every_registered_scheme_name_first(toy, capsys):
    assert cli.main(["schemes"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split()[0] for ln in lines] == [s.name for s in schemes.registered()]
    toy_line = next(ln for ln in lines if ln.startswith("Toy "))
    assert "image" in toy_line and "sequence" not in toy_line and "a test scheme" in toy_line
    assert cli.main(["schemes", "--capability", "live", "--json"]) == 0
    docs = [json.loads(ln) for ln in capsys.readouterr().out.splitlines()]
    assert [d["name"] for d in docs] == list(schemes.names("live"))
    assert all("live" in d["capabilities"] for d in docs) and "Static_profile" in [d["name"] for d in docs]


def test_live_policy_resolves_schemes_aliases_and_fixed_configurations():
    from alert.runtime import StaticPolicy
    from alert.static import best_by_profile

    prof = tiny_profile()
    goal = MinimizeEnergy(0.09, 0.75)
    default = schemes.live_policy("alert", prof, goal)
    assert isinstance(default, Controller) and default.config.estimator == ControllerConfig().estimator
    assert schemes.live_policy("ALERT_paper", prof, goal).config.estimator == "paper"
    assert schemes.live_policy("ALERT_Pr90", prof, goal).goal.pr_th == 0.9
    static = schemes.live_policy("static-best", prof, goal)
    assert isinstance(static, StaticPolicy) and (static.row, static.col) == best_by_profile(prof, goal)
    assert (static.row, static.col) == (schemes.live_policy("Static_profile", prof, goal).row,
                                        schemes.live_policy("Static_profile", prof, goal).col)
    fixed = schemes.live_policy("nest@1:20W", prof, goal)
    assert (fixed.row, fixed.col) == (prof.candidate_index("nest", 1), 1)
    only_any = schemes.live_policy("ALERT", prof, goal, candidates="anytime")
    assert only_any.profile.is_anytime.all()
    app = schemes.live_policy("App-only", prof, goal)
    assert (app.row, app.col) == (prof.candidate_index("nest", 2), 1)
    with pytest.raises(ValueError, match="not a scheme with a live policy"):
        schemes.live_policy("Nope", prof, goal)
    with pytest.raises(ValueError, match="no live policy"):
        schemes.live_policy("Oracle", prof, goal)
    with pytest.raises(ValueError, match="not a number"):
        schemes.live_policy("nest@x:20W", prof, goal)


def test_reproduce_only_measured_evaluates_only_the_given_folders(tmp_path, capsys):
    """A platform folder with a .csv trace: rows of that platform only, the headline near the top."""
    import dataclasses

    folder = tmp_path / "plat"
    folder.mkdir()
    prof = dataclasses.replace(tiny_profile(), name="tinyplat")
    prof.save(folder / "profile.json")
    rng = np.random.default_rng(0)
    lat = prof.t_prof[None] * rng.uniform(0.9, 1.4, size=(30, 1, 1))
    tr = tiny_trace(lat, state=(np.arange(30) // 10) % 2)
    Trace(prof, tr.latency, tr.power, tr.idle_power, tr.state, tr.state_names).save(folder / "memory.csv")
    out = tmp_path / "out"
    assert cli.main(["reproduce", "--measured", str(folder), "--only-measured", "--quick", "--out", str(out)]) == 0
    rows = json.loads((out / "results.json").read_text())
    assert rows and {r["platform"] for r in rows} == {"tinyplat"} and all(r["measured"] for r in rows)
    assert {r["workload"] for r in rows} == {"memory"} and {r["goal"] for r in rows} == {"min-energy", "min-error"}
    need = {"platform", "task", "workload", "goal", "scheme", "normalized", "violated", "settings", "measured", "cost"}
    assert all(need <= set(r) for r in rows)
    assert {"ALERT", "ALERT_paper", "ALERT_Pr90", "Static_profile", "OracleStatic", "Oracle_State", "Oracle"} <= \
        {r["scheme"] for r in rows}
    assert all(r["budgets"] == "trace" for r in rows)
    text = (out / "report.md").read_text()
    head = text.index("## Headline: ALERT vs Static_profile vs OracleStatic")
    assert head < text.index("## Measured platform `tinyplat`") and "Variant `paper`" not in text
    assert "Recorded platform `tinyplat`" in text and " of " in text[head:text.index("## Measured platform")]
    assert not list(out.glob("*.png"))
    assert cli.main(["reproduce", "--only-measured", "--out", str(out)]) == 2
    assert "--only-measured" in capsys.readouterr().err


def test_needs_are_checked_against_the_profile():
    prof = tiny_profile()
    one = Profile.from_dict({
        "format": "alert-profile", "version": 1, "name": "one-setting", "q_fail": 0.1,
        "settings": [{"name": "10W", "value": 10.0, "unit": "W", "idle_power": 2.0}],
        "models": [{"name": "big", "kind": "traditional", "accuracy": 0.9, "latency": [0.1], "power": [10.0]}]})
    s = schemes.Scheme("NeedsSettings", "toy", image=_toy, needs_settings=True)
    assert s.needs() == ("settings",) and s.unsupported(prof) is None
    assert s.unsupported(one) == "one setting only (it needs several)"
    assert s.unsupported(prof, "live") == "no live policy" and s.unsupported(prof, "sequence") == "no sequence replay"
    schemes.register(s)
    try:
        ok, skipped = schemes.split_supported(["ALERT", "NeedsSettings"], one, "image")
        assert ok == ["ALERT"] and skipped == [("NeedsSettings", "one setting only (it needs several)")]
    finally:
        schemes.unregister("NeedsSettings")
