from __future__ import annotations

import importlib.util

import pytest

from profile_factory import EXAMPLES, make_profile_dict


@pytest.fixture
def profile_dict():
    return make_profile_dict()


@pytest.fixture
def laptop_path():
    return EXAMPLES / "laptop-cpu.json"


@pytest.fixture
def benchmark_script():
    """Load ``benchmarks/<name>.py`` as a module (the scripts are not a package)."""
    def load(name: str):
        spec = importlib.util.spec_from_file_location(name, EXAMPLES.parent / "benchmarks" / f"{name}.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod

    return load


@pytest.fixture
def refuses_option(benchmark_script, capsys):
    """Check that ``benchmarks/<name>.py`` refuses ``args`` as argparse does (exit status 2) and
    names the first of them, the option, in its message."""
    def check(name: str, args: list[str]) -> None:
        with pytest.raises(SystemExit) as e:
            benchmark_script(name).main(args)
        assert e.value.code == 2
        assert args[0] in capsys.readouterr().err

    return check
