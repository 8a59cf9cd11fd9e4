"""The evaluation commands end to end on small inputs."""

import json

import pytest

from alert.cli import evaluation as cli
from alert.evaluation import report, scenarios, suite
from alert.evaluation.figures import make_figures
from alert.evaluation.traces import Trace


def _run(argv):
    import argparse

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    cli.register(sub)
    args = parser.parse_args(argv)
    return args.func(args)


def test_trace_generate_check_convert_and_evaluate(tmp_path, capsys):
    t = tmp_path / "t.npz"
    assert _run(["trace", "generate", "--platform", "gpu", "--workload", "compute", "--inputs", "40",
                 "--out", str(t)]) == 0
    assert _run(["trace", "check", str(t)]) == 0
    assert "p95/median" in capsys.readouterr().out
    assert _run(["trace", "convert", str(t), str(tmp_path / "t.csv")]) == 0
    capsys.readouterr()
    assert _run(["evaluate", "--trace", str(tmp_path / "t.csv"), "--goal", "min-energy:deadline=0.02,accuracy=0.9",
                 "--schemes", "ALERT,Oracle", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["schemes"]) == {"ALERT", "Oracle", "OracleStatic", "OracleStatic_strict"}


def test_evaluate_errors_are_clear(tmp_path, capsys):
    assert _run(["evaluate", "--trace", str(tmp_path / "missing.npz"), "--goal", "min-energy:deadline=1,accuracy=0.9"]) == 2
    assert "file not found" in capsys.readouterr().err
    t = tmp_path / "t.npz"
    scenarios.generate("gpu", "image", "default", "paper", 10).save(t)
    assert _run(["evaluate", "--trace", str(t), "--goal", "min-energy:deadline=1,accuracy=0.9", "--schemes", "X"]) == 2
    assert "unknown scheme" in capsys.readouterr().err


def test_trace_commands_refuse_a_trace_without_rows_or_in_milliseconds(tmp_path, capsys):
    t = tmp_path / "t.csv"
    tr = scenarios.generate("gpu", "image", "default", "paper", 4)
    tr.save(t)
    empty = tmp_path / "empty.csv"
    empty.write_text("\n".join(t.read_text().splitlines()[:2]) + "\n")  # header and columns, no row
    assert _run(["trace", "check", str(empty)]) == 2
    assert "empty.csv: field '<rows>': no rows" in capsys.readouterr().err
    ms = tmp_path / "ms.npz"
    Trace(tr.profile, tr.latency * 1000, tr.power, tr.idle_power, tr.state, tr.state_names, tr.correct, tr.name,
          tr.metadata).save(ms)
    for argv in (["trace", "check", str(ms)], ["trace", "convert", str(ms), str(tmp_path / "ms.csv")],
                 ["evaluate", "--trace", str(ms), "--goal", "min-energy:deadline=20,accuracy=0.9"]):
        assert _run(argv) == 2, argv
        err = capsys.readouterr().err
        assert "ms.npz: field 'latency': the median latency is" in err and "milliseconds" in err, argv


def test_small_suite_rows_and_report():
    cfg = suite.SuiteConfig(variants=("paper",), workloads=("default", "memory"), cells=(("gpu", "image"),),
                            n_inputs=40, n_deadlines=2, n_goals=2)
    rows = suite.run_suite(cfg)
    keys = {"platform", "task", "workload", "goal", "scheme", "normalized", "violated", "settings"}
    assert rows and all(keys <= set(r) for r in rows)
    assert {r["goal"] for r in rows} == {"min-energy", "min-error"}
    assert all(r["settings"] == 4 for r in rows)
    md = report.markdown(rows, {"mode": "test", "n_inputs": 40, "settings_per_cell": 4, "seconds": 0.0}, [])
    assert "Table 4 layout" in md and "Harmonic mean" in md and "Claim checks" in md


@pytest.mark.slow
def test_figures(tmp_path):
    pytest.importorskip("matplotlib")
    cfg = suite.SuiteConfig(variants=("paper",), cells=(("cpu1", "image"), ("cpu1", "nlp")),
                            n_inputs=40, n_deadlines=2, n_goals=2)
    rows = suite.run_suite(cfg)
    files = make_figures(rows, tmp_path, cfg)
    # Figures 7-11, and 13 from the packaged live-run logs (12 needs a recorded platform)
    names = sorted(f.split("/")[-1].split("_")[0] for f in files)
    assert names == sorted(["fig7", "fig8", "fig9", "fig10", "fig11", "fig13"])
    assert all((tmp_path / f.split("/")[-1]).stat().st_size > 1000 for f in files)


def test_sentence_rows_join_the_report():
    """`alert reproduce` adds the sentence task's rows (task = sentence, measured) and a report section."""
    from alert.evaluation import report, sentence

    cfg = sentence.SentenceSuiteConfig(schemes=("Oracle", "OracleStatic", "ALERT"), n_deadlines=2, n_goals=1,
                                       max_sentences=8)
    rows = sentence.reproduce_rows(cfg=cfg)
    assert rows and {r["task"] for r in rows} == {"sentence"}
    assert {r["workload"] for r in rows} == {"default", "memory", "compute"}
    assert {r["goal"] for r in rows} == {"min-energy", "min-error"}
    text = report.sentence_section(rows)
    assert "## Sentence prediction" in text and "| cpu-local | sentence | default |" in text
