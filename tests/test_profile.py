"""Profile loading: every malformed field gives an error naming the file, the field and the fix."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from alert import Profile, ProfileError
from profile_factory import EXAMPLES


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


def mutate(d, path, value):
    d = copy.deepcopy(d)
    obj = d
    for k in path[:-1]:
        obj = obj[k]
    if value is KeyError:
        del obj[path[-1]]
    else:
        obj[path[-1]] = value
    return d


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
    with pytest.raises(ProfileError, match="not found"):
        Profile.load(tmp_path / "absent.json")
