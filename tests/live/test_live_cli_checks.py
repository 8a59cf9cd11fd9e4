"""Bad arguments of ``alert run``, ``alert profile``, ``alert loadgen``, ``alert serve`` and
``alert restore``: each one is refused with one line naming the option, the problem and the fix,
before anything starts (no traceback, no silent acceptance)."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest
from live_fakes import profile

from alert.cli import build_parser, main

MODELS = ("import numpy as np\n\n"
          "def models():\n    return {'big': lambda x: np.zeros((len(x), 10)), 'small': lambda x: np.zeros((len(x), 10))}\n"
          "def a_list():\n    return [1, 2]\n"
          "def a_string():\n    return 'abc'\n"
          "def a_number_model():\n    return {'big': 3}\n")


@pytest.fixture
def files(tmp_path: Path) -> Path:
    profile({"big": ([0.9], [0.002]), "small": ([0.8], [0.001])}, values=(1.0, 2.0)).save(tmp_path / "p.json")
    (tmp_path / "m.py").write_text(MODELS)
    return tmp_path


def _run(tmp: Path, *extra: str) -> list[str]:
    return ["run", "--profile", str(tmp / "p.json"), "--goal", "max-accuracy:deadline=0.05", "--knob", "simulated",
            "--meter", "simulated", "--data", "random", "--inputs", "3", "--log", str(tmp / "run.csv"), *extra]


def _error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


def test_models_entry_point_must_return_a_dict_of_models(files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for fn, what in (("a_list", "returned a list ([1, 2]), not a dict"), ("a_string", "returned a str ('abc')")):
        assert main(_run(files, "--models", f"{files}/m.py:{fn}")) == 2
        err = _error(capsys)
        assert f"--models '{files}/m.py:{fn}': {fn}() {what}" in err and "Fix: make" in err
        assert "{profile model name: model}" in err
    assert main(_run(files, "--models", "os:getcwd")) == 2
    assert "--models 'os:getcwd': getcwd() returned a str" in _error(capsys)
    assert main(_run(files, "--models", f"{files}/m.py:a_number_model")) == 2
    assert "model 'big' is a int (3), not callable" in _error(capsys)
    assert main(_run(files, "--models", f"{files}/nope.py:models")) == 2
    assert "--models: entry point" in _error(capsys)


def test_fixed_policy_names_the_option_what_exists_and_the_syntax(files: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    m = ["--models", f"{files}/m.py:models"]
    assert main(_run(files, *m, "--policy", "big:9")) == 2
    err = _error(capsys)
    assert "--policy 'big:9': profile 'fake-sleepers' has no setting '9' (its settings: 1, 2)" in err
    assert "Fix: --policy MODEL[@STAGE]:SETTING" in err and not err.startswith('error: "')
    assert main(_run(files, *m, "--policy", "nosuch:1")) == 2
    assert "has no model 'nosuch' (its models: big, small)" in _error(capsys)
    assert main(_run(files, *m, "--policy", "big@2:1")) == 2
    assert "model 'big' is traditional, it has no @STAGE. Fix: --policy big:SETTING" in _error(capsys)
    any_ = profile({"any": ([0.6, 0.8], [0.001, 0.001])})
    from alert.evaluation.schemes import live_policy
    from alert.goals import parse_goal

    with pytest.raises(ValueError, match=r"anytime model 'any' has stages 1\.\.2, not 3"):
        live_policy("any@3:1", any_, parse_goal("max-accuracy:deadline=0.05"))
    assert live_policy("any@2:1", any_, parse_goal("max-accuracy:deadline=0.05")).row == 1


@pytest.mark.parametrize("extra, named", [
    (["--on", "5"], "--on"), (["--contend-workers", "3"], "--contend-workers"),
    (["--contend-start", "on"], "--contend-start"), (["--on", "1", "--off", "2"], "--on, --off"),
])
def test_contention_options_without_contend_are_refused(files: Path, capsys: pytest.CaptureFixture[str],
                                                         extra: list[str], named: str) -> None:
    assert main(_run(files, "--models", f"{files}/m.py:models", *extra)) == 2
    err = _error(capsys)
    assert f"error: {named}:" in err and "no --contend is given. Fix: add --contend memory|compute, or drop" in err


def test_thread_placement_needs_the_cgroup_knob(files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_run(files, "--models", f"{files}/m.py:models", "--placement", "thread")) == 2
    err = _error(capsys)
    assert "--placement thread puts only the inference thread under the quota of --knob cgroup; with --knob " \
           "simulated it would do nothing" in err


def test_labels_must_be_classes_of_the_models(tmp_path: Path) -> None:
    from alert.live.inputs import check_models_accept, load_npy

    models = {"m": lambda x: np.zeros((len(x), 10)), "anytime": lambda x: [np.zeros((len(x), 10))] * 2}
    check_models_accept(models, np.zeros((1, 3)), "x.npy", np.arange(10), "y.npy")
    with pytest.raises(ValueError, match=r"y\.npy: label 12 is not a class of model 'm', whose output has 10 "
                                         r"classes \(indices 0\.\.9\).*Fix: give class indices below 10"):
        check_models_accept(models, np.zeros((1, 3)), "x.npy", np.array([3, 12]), "y.npy")
    np.save(tmp_path / "x.npy", np.zeros((4, 3), np.float32))
    np.save(tmp_path / "neg.npy", np.array([0, 1, -2, 3]))
    with pytest.raises(ValueError, match=r"neg\.npy: label -2 at index 2 is negative") as e:
        load_npy(tmp_path / "x.npy", tmp_path / "neg.npy")
    assert "numpy int64" not in str(e.value)


@pytest.mark.torch
def test_run_refuses_labels_beyond_the_models_outputs(files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch")
    np.save(files / "x.npy", np.zeros((10, 3), np.float32))
    np.save(files / "y.npy", np.arange(10) + 5)  # 10..14 are no class of a 10-output model
    argv = _run(files, "--models", f"{files}/m.py:models")
    argv[argv.index("random")] = str(files / "x.npy")
    assert main([*argv, "--labels", str(files / "y.npy")]) == 2
    assert "y.npy: label 14 is not a class of model 'big'" in _error(capsys)


def _profile(tmp: Path, *extra: str) -> list[str]:
    return ["profile", "--models", f"{tmp}/m.py:models", "--knob", "simulated", "--meter", "simulated",
            "--settings", "1", "--data", "random", "--repeats", "2", "--warmup", "0", "--settle", "0",
            "--idle-window", "0.01", "--out", str(tmp / "out.json"), "--quiet", *extra]


@pytest.mark.parametrize("value, says", [
    ("big=1.5,small=0.3", "'big=1.5,small=0.3' names several models; give one --accuracy per model, e.g. "
                          "--accuracy big=Q --accuracy small=0.3"),
    ("big", "expected NAME=Q[,Q...]"),
    ("big=x", "accuracy 'x' of model 'big' is not a number"),
    ("big=1.5", "accuracy '1.5' of model 'big' is outside [0, 1]"),
    ("big=nan", "outside [0, 1]"),
])
def test_profile_accuracy_syntax_is_checked_by_the_parser(value: str, says: str,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        build_parser().parse_args(["profile", "--settings", "1", "--accuracy", value])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "argument --accuracy:" in err and says in err


@pytest.mark.torch
def test_profile_accuracy_names_models_of_models_once_per_stage(files: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch")
    assert main(_profile(files, "--accuracy", "small=0.5", "--accuracy", "nosuch=0.5", "--accuracy", "big=0.5")) == 2
    assert "--accuracy nosuch=...: --models" in _error(capsys)
    assert main(_profile(files, "--accuracy", "small=0.5", "--accuracy", "big=0.2", "--accuracy", "big=0.3")) == 2
    assert "--accuracy: model 'big' is given twice" in _error(capsys)
    assert main(_profile(files, "--accuracy", "small=0.5", "--accuracy", "big=0.5,0.6")) == 2
    assert "2 accuracies for model 'big', which has 1 stage(s)" in _error(capsys)
    assert main(_profile(files, "--accuracy", "small=0.5", "--accuracy", "big= 0.25")) == 0
    from alert.profile import Profile

    assert Profile.load(files / "out.json").models[0].accuracy.tolist() == [0.25]


def test_empty_state_dir_is_refused(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from alert.system import restore

    def never(*a: object, **k: object) -> None:
        raise AssertionError("restore_all must not run with an empty --state-dir")

    monkeypatch.setattr(restore, "restore_all", never)
    for argv in (["restore", "--state-dir", ""], ["restore", "--state-dir", " "],
                 ["run", "--profile", "p", "--goal", "g", "--models", "m:f", "--state-dir", ""]):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 2
        assert "argument --state-dir: must be a folder path, got" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # parsed only: knobd itself never runs in a test
        build_parser().parse_args(["knobd", "--state-dir", ""])
    assert "argument --state-dir: must be a folder path" in capsys.readouterr().err


def test_serve_refuses_an_empty_host() -> None:
    p = build_parser()
    with pytest.raises(SystemExit):
        p.parse_args(["serve", "--models", "m:f", "--profile", "p", "--host", ""])
    assert p.parse_args(["serve", "--models", "m:f", "--profile", "p", "--host", "0.0.0.0"]).host == "0.0.0.0"
    assert p.parse_args(["serve", "--models", "m:f", "--profile", "p"]).host == "127.0.0.1"


@pytest.mark.serve
def test_serve_checks_models_and_policy_before_ray_starts(files: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    ray = pytest.importorskip("ray")
    pytest.importorskip("ray.serve")

    def never(*a: object, **k: object) -> None:
        raise AssertionError("Ray must not start")

    monkeypatch.setattr(ray, "init", never)
    base = ["serve", "--profile", str(files / "p.json"), "--knob", "simulated", "--meter", "simulated"]
    assert main([*base, "--models", f"{files}/nonexist.py:models"]) == 2
    assert "--models: entry point" in _error(capsys)
    assert main([*base, "--models", f"{files}/m.py:a_list"]) == 2
    assert "a_list() returned a list" in _error(capsys)
    assert main([*base, "--models", f"{files}/m.py:models", "--policy", "bogus"]) == 2
    assert "--policy 'bogus': not a scheme with a live policy" in _error(capsys)
    assert main([*base, "--models", f"{files}/m.py:models", "--estimator-param", "bogus=1"]) == 2
    assert "--estimator-param bogus=1: estimator 'robust'" in _error(capsys)
    assert main([*base, "--models", f"{files}/m.py:models", "--policy", "big:9"]) == 2
    assert "--policy 'big:9'" in _error(capsys)


@pytest.mark.loadgen
def test_loadgen_fails_when_every_query_failed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("mlperf_loadgen")
    with socket.socket() as s:  # a port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "out"
    rc = main(["loadgen", "--goal", "max-accuracy:deadline=0.02", "--target", f"http://127.0.0.1:{port}",
               "--duration", "0.2", "--min-queries", "5", "--samples", "4", "--data", "random", "--out", str(out),
               "--json"])
    assert rc == 1
    err = capsys.readouterr().err
    assert "queries failed (the first: ConnectionRefusedError" in err
    assert f"Fix: check that `alert serve` is running and reachable at --target http://127.0.0.1:{port}" in err
    assert (out / "summary.json").exists() and (out / "queries.csv").exists()


@pytest.mark.loadgen
def test_loadgen_refuses_the_options_of_the_other_mode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("mlperf_loadgen")
    base = ["loadgen", "--goal", "max-accuracy:deadline=0.02", "--data", "random", "--out", str(tmp_path / "out")]
    target = [*base, "--target", "http://127.0.0.1:9"]
    assert main([*target, "--knob", "simulated", "--contend", "memory", "--warmup", "0"]) == 2
    err = _error(capsys)
    assert "--knob, --contend, --warmup: in-process options" in err and "Fix: drop --knob --contend --warmup" in err
    assert main([*target, "--policy", "paper"]) == 2
    assert "--policy: in-process option," in _error(capsys)
    assert main([*base, "--http-threads", "4", "--profile", "p.json", "--models", "m.py:f"]) == 2
    assert "--http-threads: the client connections of --target" in _error(capsys)
    assert not (tmp_path / "out").exists()  # refused before anything ran


def test_estimator_params_reach_the_controller_or_are_refused_naming_the_option(
        files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from alert.evaluation.schemes import live_policy
    from alert.goals import parse_goal
    from alert.profile import Profile

    prof, goal = Profile.load(files / "p.json"), parse_goal("max-accuracy:deadline=0.05")
    ctl = live_policy("ALERT", prof, goal, estimator_params={"tiny_fraction": 0.2, "groups": "config"})
    assert ctl.estimator.tiny_fraction == 0.2 and ctl.estimator.groups == "config"
    assert live_policy("paper", prof, goal, estimator_params={"q0": 0.05}).estimator.filter.q == 0.05
    m = ["--models", f"{files}/m.py:models"]
    assert main(_run(files, *m, "--estimator-param", "tiny_fraction=0.2", "--estimator-param", "fixed_costs=false")) == 0
    capsys.readouterr()
    for extra, named in [(["--estimator-param", "bogus=1"], "--estimator-param bogus=1: estimator 'robust'"),
                         (["--estimator-param", "tiny_fraction=2"], "tiny_fraction must be in [0, 1)"),
                         (["--policy", "paper", "--estimator-param", "tiny_fraction=0.2"],
                          "--estimator-param tiny_fraction=0.2: estimator 'paper'"),
                         (["--policy", "big:1", "--estimator-param", "tiny_fraction=0.2"],
                          "--estimator-param: --policy 'big:1' has no estimator to take it"),
                         (["--policy", "static-best", "--estimator-param", "tiny_fraction=0.2"],
                          "--estimator-param: --policy 'static-best' has no estimator to take it"),
                         (["--policy", "robust", "--estimator-param", "tiny_fraction=0.2"],
                          "--policy 'robust': not a scheme with a live policy"),
                         (["--estimator-param", "window=40", "--estimator-param", "window=20"], "window: given twice")]:
        assert main(_run(files, *m, *extra)) == 2, extra
        assert named in _error(capsys), extra
    # an error of something else (the profile has no anytime model) is not blamed on the option
    with pytest.raises(ValueError) as e:
        live_policy("ALERT", prof, goal, "anytime", {"tiny_fraction": 0.2})
    assert "no model of kind ['anytime']" in str(e.value) and "--estimator-param" not in str(e.value)
    with pytest.raises(SystemExit):
        main(_run(files, *m, "--estimator-param", "tiny_fraction"))
    assert "expected KEY=VALUE" in capsys.readouterr().err
