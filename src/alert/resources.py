"""Data shipped inside the package, found through :mod:`importlib.resources`.

The wheel carries everything ``alert`` needs to run from any directory:

- ``alert/data/profiles/<name>.json``: the example profiles (``laptop-cpu``, ``gpu-small``,
  ``cpu-quota``); ``alert decide laptop-cpu`` takes such a bare name.
- ``alert/data/platforms/<name>/``: the recorded platforms of real machines (``measured-cpu``,
  ``measured-gpu``, ``measured-cpu-drift``): ``profile.json``, one trace per workload and
  ``fidelity.json``.
- ``alert/data/weights/``: the trained weights; ``alert/nlp/traces/``: the sentence traces.

In the source tree the profiles and platforms are links to ``examples/`` (one copy; the
recording scripts write there), so a checkout and an installed wheel read the same files.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from alert.profile import ProfileError

#: the recorded platforms ``alert reproduce`` evaluates by default, in report order
PLATFORMS: tuple[str, ...] = ("measured-cpu", "measured-gpu", "measured-cpu-drift")


def package_root() -> Path:
    """The installed ``alert`` package folder (it must be on a file system, not in a zip)."""
    root = resources.files("alert")
    path = Path(str(root))
    if not path.is_dir():
        raise RuntimeError(f"alert is installed as {root!r}, not as a folder: install the wheel with pip "
                           "(zip imports cannot read the package data)")
    return path


def data_dir() -> Path:
    """``alert/data`` of the installed package (or of the source tree)."""
    return package_root() / "data"


def profile_names() -> list[str]:
    """The names of the packaged example profiles."""
    folder = data_dir() / "profiles"
    return sorted(f.stem for f in folder.glob("*.json")) if folder.is_dir() else []


def profile_path(name: str) -> Path:
    """The packaged profile ``name`` (e.g. ``laptop-cpu``; a ``.json`` suffix is accepted)."""
    stem = name[:-5] if name.endswith(".json") else name
    f = data_dir() / "profiles" / f"{stem}.json"
    if not f.is_file():
        raise ProfileError(name, "<file>", "no such packaged profile",
                           f"use one of {', '.join(profile_names()) or '(none installed)'} or a path")
    return f


def resolve_profile(arg: str | os.PathLike[str]) -> Path:
    """A profile argument: an existing file as given, else a packaged profile of that name.

    ``alert decide laptop-cpu`` and ``alert decide examples/laptop-cpu.json`` both work; a bare
    name that is neither a file nor packaged is an error listing the packaged names."""
    path = Path(arg)
    if path.is_file():
        return path
    text = str(arg)
    if os.sep not in text and "/" not in text and text[:-5 if text.endswith(".json") else None] in profile_names():
        return profile_path(text)
    if path.is_dir():
        raise ProfileError(text, "<file>", "is a folder, not a profile file",
                           f"give the profile.json inside it ({path / 'profile.json'}), or a packaged profile: "
                           f"{', '.join(profile_names()) or '(none)'}")
    raise ProfileError(text, "<file>", "file not found and not a packaged profile name",
                       f"check the path, or use a packaged profile: {', '.join(profile_names()) or '(none)'}")


def platform_dir(name: str) -> Path:
    """The folder of the packaged recorded platform ``name`` (``measured-cpu``, ``measured-gpu``)."""
    return data_dir() / "platforms" / name


def platform_dirs() -> tuple[Path, ...]:
    """The packaged recorded platforms, in :data:`PLATFORMS` order (all of them in a complete install)."""
    return tuple(platform_dir(n) for n in PLATFORMS)


#: the live runs the report draws (``alert run`` logs of examples/cpu-quota-run.sh), label first
LIVE_RUNS: tuple[tuple[str, str], ...] = (("ALERT", "cpu-quota-run-alert.csv"),
                                          ("paper preset", "cpu-quota-run-paper.csv"),
                                          ("static best", "cpu-quota-run-static.csv"))


def live_run_logs() -> list[tuple[str, Path]]:
    """The packaged live-run logs that are present, as (label, path), in :data:`LIVE_RUNS` order."""
    folder = data_dir() / "runs"
    return [(label, folder / name) for label, name in LIVE_RUNS if (folder / name).is_file()]


def portable_path(path: str | os.PathLike[str]) -> str:
    """``path`` as metadata should record it: package data as ``alert/...`` (the same from a
    checkout and from any install), a path under the working folder relative to it, any other
    path as given. Never resolves links: ``examples/measured-cpu`` stays what the user typed."""
    p = Path(path)
    if not p.is_absolute():
        return p.as_posix()
    try:
        return (Path("alert") / p.relative_to(package_root())).as_posix()
    except (ValueError, RuntimeError):
        pass
    try:
        return p.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return p.as_posix()
