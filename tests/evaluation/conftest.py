"""Fixtures of the evaluation tests."""

import pytest
from eval_helpers import tiny_profile


@pytest.fixture
def profile():
    return tiny_profile()
