"""Trace format: round trips and clear validation errors."""

import json

import numpy as np
import pytest
from eval_helpers import tiny_profile, tiny_trace

from alert.evaluation import scenarios
from alert.evaluation.traces import Trace, TraceError, check_matches
from alert.profile import Profile

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


def _csv_lines(tmp_path):
    p = tmp_path / "t.csv"
    tiny_trace(LAT, np.array([0, 1])).save(p)
    return p, p.read_text().splitlines()


def test_csv_without_rows_is_refused(tmp_path):
    p, lines = _csv_lines(tmp_path)
    p.write_text("\n".join(lines[:2]) + "\n")   # the header comment and the columns, no row
    with pytest.raises(TraceError, match=r"t.csv: field '<rows>': no rows.*at least one input"):
        Trace.load(p)


def test_csv_row_with_a_value_too_many_is_refused(tmp_path):
    p, lines = _csv_lines(tmp_path)
    lines[3] += ",7"
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(TraceError, match=r"field '<row 4>': 9 values, but there are 8 columns"):
        Trace.load(p)


@pytest.mark.parametrize("column, value, same", [("idle_power_w", "9.5", "input and setting"),
                                                  ("state", "1", "input"), ("correct", "1", "input and candidate")])
def test_csv_rows_of_one_input_must_agree(tmp_path, column, value, same):
    p, lines = _csv_lines(tmp_path)
    # line 3: input 0, big, 10W; line 4: input 0, big, 20W; line 5: input 0, nest@1, 10W
    k = 4 if column == "correct" else 5
    cells = lines[k - 1].split(",")
    cells[("input", "candidate", "setting", "latency_s", "power_w", "idle_power_w", "state", "correct").index(column)] = value
    lines[k - 1] = ",".join(cells)
    p.write_text("\n".join(lines) + "\n")
    # (which of the two rows is named first depends on which one the reader kept)
    with pytest.raises(TraceError, match=rf"'<row (3|{k})>.{column}': [-0-9.]+ disagrees with [-0-9.]+ on row (3|{k}) "
                                         rf"\(the same {same}\)"):
        Trace.load(p)


def _npz_with_header(tmp_path, **changes):
    p = tmp_path / "t.npz"
    tiny_trace(LAT).save(p)
    with np.load(p, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    header = json.loads(str(arrays["header"]))
    header.update(changes)
    arrays["header"] = np.array(json.dumps(header))
    with open(p, "wb") as f:
        np.savez(f, **arrays)
    return p


@pytest.mark.parametrize("changes, where", [
    ({"state_names": "none"}, r"field 'state_names': expected a list of names, got str 'none'"),
    ({"state_names": ["none", "none"]}, r"field 'state_names': 'none' is listed twice"),
    ({"state_names": []}, r"field 'state_names': empty"),
    ({"state_names": ["none", 3]}, r"field 'state_names\[1\]': expected a string"),
    ({"name": 5}, r"field 'name': expected a string, got int 5"),
    ({"metadata": [1]}, r"field 'metadata': expected an object, got list")])
def test_npz_header_fields_are_checked(tmp_path, changes, where):
    with pytest.raises(TraceError, match=where + ".*Fix"):
        Trace.load(_npz_with_header(tmp_path, **changes))


@pytest.mark.parametrize("suffix", [".npz", ".csv"])
def test_trace_in_milliseconds_is_refused(tmp_path, suffix):
    p = tmp_path / f"t{suffix}"
    tiny_trace(LAT * 1000).save(p)     # milliseconds against its own profile in seconds
    with pytest.raises(TraceError, match=r"field 'latency': the median latency is 1\.[0-9]+e\+03 x the profile's"
                                         r".*milliseconds.*Fix: .*in seconds"):
        Trace.load(p)
    tiny_trace(LAT).save(p)
    assert Trace.load(p).n_inputs == 2
    fast = Profile.from_dict({**tiny_profile().to_dict(), "models": [
        {**m, "latency": (np.asarray(m["latency"]) * 1000).tolist()} for m in tiny_profile().to_dict()["models"]]})
    with pytest.raises(TraceError, match=r"the median latency is 0\.00[0-9]+ x the profile's"):
        Trace.load(p).with_profile(fast)  # the same trace described by a profile in milliseconds
