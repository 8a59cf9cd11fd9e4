from __future__ import annotations

import pytest

from profile_factory import EXAMPLES, make_profile_dict


@pytest.fixture
def profile_dict():
    return make_profile_dict()


@pytest.fixture
def laptop_path():
    return EXAMPLES / "laptop-cpu.json"
