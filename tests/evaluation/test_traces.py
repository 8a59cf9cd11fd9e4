"""Trace format: round trips and clear validation errors."""

import json

import numpy as np
import pytest
from eval_helpers import tiny_profile, tiny_trace

from alert.evaluation import scenarios
from alert.evaluation.traces import Trace, TraceError, check_matches

LAT = np.array([[[0.12, 0.05], [0.05, 0.02], [0.11, 0.04]],
                [[0.10, 0.06], [0.04, 0.03], [0.09, 0.05]]])


@pytest.mark.parametrize("suffix", [".npz", ".csv"])
def test_round_trip(tmp_path, suffix):
    tr = scenarios.generate("gpu", "image", "compute", "paper", n_inputs=12)
    p = tmp_path / f"t{suffix}"
    tr.save(p)
    back = Trace.load(p)
    np.testing.assert_allclose(back.latency, tr.latency, rtol=1e-8)
    np.testing.assert_allclose(back.power, tr.power, rtol=1e-5)
    np.testing.assert_allclose(back.idle_power, tr.idle_power, rtol=1e-5)
    np.testing.assert_array_equal(back.states(), tr.states())
    np.testing.assert_array_equal(back.correct, tr.correct)
    assert back.state_names == tr.state_names
    assert [c.label for c in back.profile.candidates] == [c.label for c in tr.profile.candidates]
    assert back.metadata["workload"] == "compute"


def test_npz_needs_no_pickle(tmp_path):
    p = tmp_path / "t.npz"
    tiny_trace(LAT).save(p)
    with np.load(p, allow_pickle=False) as z:
        assert json.loads(str(z["header"]))["format"] == "alert-trace"


def test_shape_error_names_field_and_fix():
    prof = tiny_profile()
    with pytest.raises(TraceError, match=r"field 'latency'.*expected \(inputs, 3, 2\).*Fix"):
        Trace(prof, np.ones((2, 2, 2)), np.ones((2, 2, 2)), np.ones((2, 2)))


def test_nan_and_negative_cells_are_located():
    bad = LAT.copy()
    bad[1, 0, 1] = np.nan
    with pytest.raises(TraceError, match=r"latency\[1\]\[0\]\[1\].*NaN"):
        tiny_trace(bad)
    bad = LAT.copy()
    bad[0, 1, 0] = -0.1
    with pytest.raises(TraceError, match=r"latency\[0\]\[1\]\[0\]"):
        tiny_trace(bad)


def test_anytime_stages_must_be_cumulative():
    bad = LAT.copy()
    bad[1, 2, 0] = 0.03          # stage 2 before stage 1 (0.04)
    with pytest.raises(TraceError, match=r"latency\[1\]\[2\]\[0\].*cumulative"):
        tiny_trace(bad)


def test_state_must_have_a_name():
    with pytest.raises(TraceError, match=r"state\[1\]"):
        tiny_trace(LAT, np.array([0, 2]))


def test_bad_files(tmp_path):
    with pytest.raises(TraceError, match="file not found"):
        Trace.load(tmp_path / "none.npz")
    p = tmp_path / "x.npz"
    p.write_bytes(b"not a zip")
    with pytest.raises(TraceError, match="not a readable"):
        Trace.load(p)
    c = tmp_path / "x.csv"
    c.write_text("input,candidate\n")
    with pytest.raises(TraceError, match="header comment"):
        Trace.load(c)


def test_csv_wrong_version(tmp_path):
    p = tmp_path / "t.csv"
    tiny_trace(LAT).save(p)
    text = p.read_text().replace('"version": 1', '"version": 9', 1)
    p.write_text(text)
    with pytest.raises(TraceError, match="header.version"):
        Trace.load(p)


def test_csv_repeated_row_is_named(tmp_path):
    p = tmp_path / "t.csv"
    tiny_trace(LAT).save(p)
    lines = p.read_text().splitlines()
    lines[5] = lines[3]  # file line 4 (input 0, big, 20W) again on line 6: the same count, one repeat
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(TraceError, match=r"<row 6>.*repeats input 0, candidate big, setting 20W"):
        Trace.load(p)


def test_profile_mismatch_is_reported():
    tr = tiny_trace(LAT)
    other = scenarios.profile_for("gpu", "image")
    with pytest.raises(TraceError, match="candidates"):
        check_matches(tr, other)
    assert tr.with_profile(tiny_profile()).n_inputs == 2
