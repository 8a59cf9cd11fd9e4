"""Profile loading: every malformed field gives an error naming the file, the field and the fix."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from alert import Profile, ProfileError
from profile_factory import EXAMPLES, mutate


def test_examples_load():
    for f in EXAMPLES.glob("*.json"):
        p = Profile.load(f)
        assert p.shape[0] >= 4 and p.shape[1] >= 4
        assert "candidates" in p.summary()


def test_round_trip(tmp_path, profile_dict):
    p = Profile.from_dict(profile_dict)
    p.save(tmp_path / "p.json")
    q = Profile.load(tmp_path / "p.json")
    assert np.array_equal(p.t_prof, q.t_prof) and np.array_equal(p.power, q.power)
    assert q.to_dict()["models"] == p.to_dict()["models"]


def test_candidate_flattening(profile_dict):
    p = Profile.from_dict(profile_dict)
    assert [c.label for c in p.candidates] == ["small", "big", "any@1", "any@2", "any@3"]
    assert p.t_prof.shape == (5, 2)
    # power defaults to the cap for W settings
    assert p.power[0].tolist() == [10.0, 20.0]
    assert p.dq.tolist() == pytest.approx([0.7, 0.8, 0.6, 0.15, 0.07])
    assert p.candidate_index("any") == 4 and p.candidate_index("any", 2) == 3
    assert p.subset(["traditional"]).shape == (2, 2)
    assert p.subset(["anytime"]).shape == (3, 2)




CASES = [
    (("version",), 2, "version"),
    (("format",), "other", "format"),
    (("q_fail",), 1.5, "q_fail"),
    (("q_fail",), KeyError, "q_fail"),
    (("settings", 0, "unit"), "furlongs", "settings[0].unit"),
    (("settings", 1, "idle_power"), -1.0, "settings[1].idle_power"),
    (("settings", 0, "value"), float("nan"), "settings[0].value"),
    (("models", 0, "accuracy"), 91, "models[0].accuracy"),
    (("models", 2, "accuracy"), [0.7, 1.2, 0.9], "models[2].accuracy[1]"),
    (("models", 0, "latency"), [0.04], "models[0].latency"),
    (("models", 0, "latency"), [0.04, -0.02], "models[0].latency[1]"),
    (("models", 0, "latency"), [0.04, 0.0], "models[0].latency[1]"),
    (("models", 1, "latency"), [0.1, float("nan")], "models[1].latency[1]"),
    (("models", 2, "latency"), [[0.02, 0.01], [0.06, 0.03], [0.05, 0.06]], "models[2].latency[2][0]"),
    (("models", 2, "latency"), [[0.02, 0.01], [0.06]], "models[2].latency"),
    (("models", 1, "kind"), "quantum", "models[1].kind"),
    (("models", 1, "name"), "small", "models"),
    (("models", 0, "power"), [5.0, "x"], "models[0].power"),
    (("Power",), [1.0], "Power"),                               # a misspelt field is not ignored
    (("settings", 0, "idle"), 1.0, "settings[0].idle"),
    (("models", 1, "Power"), [5.0, 6.0], "models[1].Power"),
    (("version",), True, "version"),                            # true == 1 in Python, not in a profile
    (("models", 0, "latency"), [0.04, 1e308], "models[0].latency[1]"),  # no measurement in seconds
    (("models", 0, "power"), [5.0, 1e300], "models[0].power[1]"),
]


@pytest.mark.parametrize("path,value,field", CASES)
def test_validation_names_file_and_field(tmp_path, profile_dict, path, value, field):
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(mutate(profile_dict, path, value)))
    with pytest.raises(ProfileError) as e:
        Profile.load(f)
    assert e.value.field == field
    msg = str(e.value)
    assert str(f) in msg and field in msg and "Fix:" in msg


def test_power_required_for_non_watt_units(profile_dict):
    d = copy.deepcopy(profile_dict)
    for s in d["settings"]:
        s["unit"] = "cores"
    with pytest.raises(ProfileError, match="power"):
        Profile.from_dict(d)


def test_not_json_and_missing_file(tmp_path):
    f = tmp_path / "x.json"
    f.write_text("{not json")
    with pytest.raises(ProfileError, match="not valid JSON"):
        Profile.load(f)
    f.write_text('{"format": "alert-profile", "q_fail": 1' + "0" * 5000 + "}")  # past Python's int limit
    with pytest.raises(ProfileError, match="number too long"):
        Profile.load(f)
    with pytest.raises(ProfileError, match="not found"):
        Profile.load(tmp_path / "absent.json")


def test_row_helpers(profile_dict):
    p = Profile.from_dict(profile_dict)  # small, big, any@1..3
    any3 = p.candidate_index("any", 3)
    assert list(p.model_rows("any")) == [2, 3, 4] and list(p.model_rows("big")) == [1]
    assert list(p.rows_through(any3)) == [2, 3, 4] and list(p.rows_through(3)) == [2, 3]
    assert list(p.rows_through(1)) == [1]
    assert p.first_row(any3) == 2 and p.stage_number(3) == 2 and p.stage_number(0) is None
    assert np.array_equal(p.at_first_stage(np.arange(5)), [0, 1, 2, 2, 2])
    assert p.any_stage_through(np.array([False, False, True, False, False])).tolist() == [False, False, True, True, True]
    done = np.array([[True], [False], [True], [True], [False]])  # rows × one setting
    n = p.stages_done(done)
    assert n[:, 0].tolist() == [1, 0, 1, 2, 2]
    assert p.stage_rows(n)[:, 0].tolist() == [0, -1, 2, 3, 3]
    # the stage after the output, capped at the candidate's own; stage 1 without an output
    assert p.stage_after(np.array([[0], [-1], [2], [2], [-1]]))[:, 0].tolist() == [0, 1, 2, 3, 2]
    inc = p.stage_increments(p.t_prof)
    assert inc[3].tolist() == pytest.approx((p.t_prof[3] - p.t_prof[2]).tolist()) and inc[2].tolist() == p.t_prof[2].tolist()
    assert np.allclose(p.cumulate_stages(inc), p.t_prof, rtol=1e-15, atol=0)
    with pytest.raises(KeyError, match="no model 'nope'"):
        p.model_rows("nope")


def test_measured_model_and_build_profile():
    from alert.profile import Setting, build_profile, measured_model

    ends = np.array([[[0.010, 0.020], [0.030, 0.050]], [[0.012, 0.022], [0.034, 0.054]],
                     [[0.014, 0.030], [0.038, 0.070]]])  # 3 samples x 2 stages x 2 settings
    m = measured_model("net", [0.7, 0.9], ends, [5.0, 9.0])
    assert m.kind == "anytime" and np.allclose(m.latency, [[0.012, 0.024], [0.034, 0.058]], rtol=1e-12)
    assert m.power.tolist() == [[5.0, 9.0], [5.0, 9.0]]
    assert m.latency_std[0, 0] == pytest.approx(np.std([0.010, 0.012, 0.014], ddof=1))
    assert measured_model("net", [0.7, 0.9], ends, [5.0, 9.0], centre="median").latency[1, 1] == pytest.approx(0.054)
    one = measured_model("t", [0.8], ends[:1, 1:, :], [5.0, 9.0])
    assert one.kind == "traditional" and one.latency_std is None
    settings = (Setting("a", 1.0, "cores", 1.0), Setting("b", 2.0, "cores", 1.0))
    p = build_profile([m, one], settings, 0.1, "built", {"method": "test"})
    assert p.shape == (3, 2) and p.metadata["method"] == "test"
    bad = measured_model("net", [0.7, 1.2], ends, [5.0, 9.0])  # an accuracy of 120 %
    with pytest.raises(ProfileError, match=r"<measured profile built>: field 'models\[0\].accuracy\[1\]'"):
        build_profile([bad], settings, 0.1, "built")
