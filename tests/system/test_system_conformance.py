"""Every registered knob and meter through one contract, on a fake machine (kernel trees in a
temporary directory, a fake pynvml).

A knob reads, applies only inside its limits, snapshots, and comes back to the original state
both through ``restore()`` and through its registered restorer replaying the JSON snapshot;
the restorer refuses a snapshot whose paths leave the allowlisted roots (another root, ``..``)
or whose values lie outside the hardware's range, and then writes nothing. A meter's windows are
finite and non-negative, also across counter wraps. A toy knob and a toy meter registered from
this file alone pass the same contract.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from _system_fakes import (
    FakeNvml,
    fake_make_group,
    fake_remove_group,
    make_cgroup_v1,
    make_cpufreq,
    make_rapl,
    write,
)

from alert.system import cgroup as cg
from alert.system import nvml as nvml_mod
from alert.system import registry, sysfs
from alert.system.base import EnergyReading, Knob, Meter
from alert.system.errors import SettingOutOfRange, SystemLayerError
from alert.system.registry import KnobEntry, KnobOptions, MeterEntry, MeterOptions
from alert.system.roots import RefusedPath, SystemRoots, component, inside, same_path


# =============================================================================== toy knob and meter
class ToyFileKnob(Knob):
    """A level 1..5 kept in ``<powercap root>/toy/level``: the smallest knob that changes a file."""

    kind = "toy-file"
    unit = "level"

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.file = root / "toy" / "level"
        self._original = sysfs.read_int(self.file)

    def limits(self) -> tuple[float, float]:
        return 1.0, 5.0

    def read(self) -> float:
        return float(sysfs.read_int(self.file))

    def _write(self, value: float) -> None:
        sysfs.write_text(self.file, int(value))

    def snapshot(self) -> dict[str, Any]:
        return {"kind": self.kind, "file": str(self.file), "level": self._original}

    def restore(self) -> None:
        sysfs.write_text(self.file, self._original)
        self._last = None


def restore_toy(snap: dict[str, Any], roots: SystemRoots) -> None:
    same_path(snap.get("file"), roots.powercap / "toy" / "level", "toy state: file")
    real = inside(roots.powercap / "toy", (roots.powercap,), "toy state: file")
    level = snap.get("level")
    if not isinstance(level, int) or not 1 <= level <= 5:
        raise RefusedPath("toy state: level", f"{level!r} outside 1..5", "delete the state file")
    component("level", "level", "toy state")
    sysfs.write_text(real / "level", level)


class ToyMeter(Meter):
    """One joule per second of the clock."""

    method = "toy"

    def __init__(self, clock: Any) -> None:
        self.clock, self.t0 = clock, 0.0

    def start(self) -> None:
        self.t0 = self.clock()

    def stop(self) -> EnergyReading:
        s = self.clock() - self.t0
        return EnergyReading(s, s, self.method)


TOY_KNOB = KnobEntry("toy-file", "toy-file", "level", lambda o: ToyFileKnob(o.roots.powercap), restore_toy,
                     None, ("powercap",), "a test knob")
TOY_METER = MeterEntry("toy", lambda o: ToyMeter(o.clock))
KNOB_NAMES = registry.knob_names() + [TOY_KNOB.name]
METER_NAMES = registry.meter_names() + [TOY_METER.name]


@pytest.fixture(autouse=True)
def toys() -> Iterator[None]:
    registry.register_knob(TOY_KNOB)
    registry.register_meter(TOY_METER)
    yield
    registry.unregister(TOY_KNOB.name)
    registry.unregister(TOY_METER.name)


# =============================================================================== the fake machine
class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


@dataclass
class FakeMachine:
    roots: SystemRoots
    nvml: FakeNvml
    clock: FakeClock
    outside: Path  # a file outside every root that no restore may touch
    range_uj: int = 1_000_000

    def advance(self, joules: float, seconds: float) -> None:
        """Energy counters move by ``joules`` (RAPL wraps at its range), the clock by ``seconds``."""
        z = self.roots.powercap / "intel-rapl:0"
        uj = (sysfs.read_int(z / "energy_uj") + int(joules * 1e6)) % self.range_uj
        write(z / "energy_uj", uj)
        self.nvml.energy_mj += int(joules * 1e3)
        self.clock.t += seconds

    def tree(self) -> dict[str, str]:
        """Every file under the roots (membership lists excluded: the fake cannot move processes)."""
        out = {}
        for r in (self.roots.powercap, self.roots.cpu, self.roots.cgroup):
            for p in sorted(r.rglob("*")):
                if p.is_file() and p.name not in ("cgroup.procs", "tasks"):
                    out[str(p)] = p.read_text().strip()
        out["nvml"] = repr((self.nvml.limit, self.nvml.locked))
        return out


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeMachine:
    roots = SystemRoots(powercap=tmp_path / "powercap", powercap_devices=tmp_path / "powercap",
                        cpu=tmp_path / "cpu", cgroup=tmp_path / "cg", proc=tmp_path / "proc", dev=tmp_path / "dev")
    make_rapl(roots.powercap, energy_uj=900_000, range_uj=1_000_000)
    make_cpufreq(roots.cpu)
    make_cgroup_v1(roots.cgroup, roots.proc, os.getpid())
    write(roots.powercap / "toy" / "level", 3)
    outside = write(tmp_path / "outside" / "constraint_0_power_limit_uw", "untouched")
    for name in ("cgroup.procs", "tasks", "scaling_max_freq"):
        write(tmp_path / "outside" / name, "untouched")
    nv = FakeNvml()
    monkeypatch.setattr(cg, "make_group", fake_make_group)
    monkeypatch.setattr(cg, "remove_group", fake_remove_group)
    monkeypatch.setattr(nvml_mod, "load_nvml", lambda: nv)
    return FakeMachine(roots, nv, FakeClock(), outside)


def knob_options(m: FakeMachine) -> KnobOptions:
    return KnobOptions(period_us=4000, settings=(1.0, 2.0, 3.0), roots=m.roots, nvml=lambda: m.nvml)


# =============================================================================== the knob contract
def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(1.0, abs(b))


def _tampered(snap: Any, outside: Path) -> Iterator[tuple[str, Any]]:
    """Copies of ``snap`` with one path-like string (value or key) sent out of the roots or
    given a '..', and with one integer made absurd or negative."""
    if isinstance(snap, dict):
        for k, v in snap.items():
            if isinstance(k, str) and "/" in k:
                for how, bad in (("key outside", str(outside.parent / Path(k).name)),
                                 ("key with ..", str(Path(k).parent / ".." / ".." / Path(k).name))):
                    yield how, {**{kk: vv for kk, vv in snap.items() if kk != k}, bad: v}
            for how, bad in _tampered(v, outside):
                yield f"{k}: {how}", {**snap, k: bad}
    elif isinstance(snap, str) and "/" in snap:
        yield "outside", str(outside.parent / Path(snap).name)
        yield "with ..", snap.rstrip("/") + "/../../" + Path(snap).name
        yield "relative ..", "../" * 8 + str(outside.parent).lstrip("/")
    elif isinstance(snap, int) and not isinstance(snap, bool):
        yield "huge", 10**15
        yield "negative", -1


@pytest.mark.parametrize("name", KNOB_NAMES)
def test_knob_contract(name: str, machine: FakeMachine) -> None:
    entry = registry.knob_entry(name)
    before = machine.tree()
    k = registry.make_knob(name, knob_options(machine))
    assert k.unit == entry.unit
    lo, hi = k.limits()
    assert math.isfinite(lo) and math.isfinite(hi) and lo <= hi
    avail = k.available()
    assert avail and all(lo - 1e-9 <= v <= hi + 1e-9 for v in avail)
    r0 = k.read()
    assert math.isfinite(r0)
    snap = json.loads(json.dumps(k.snapshot()))  # a state file holds it as JSON
    if k.changes_machine:
        assert entry.restorer is not None, f"{name} changes the machine but registers no restorer"
        assert registry.restorers()[snap["kind"]] is entry.restorer or snap["kind"] == entry.kind
    # outside the limits: refused, nothing written
    for bad in (hi + max(1.0, abs(hi)), lo - max(1.0, abs(lo)), float("nan"), float("inf")):
        with pytest.raises(SettingOutOfRange):
            k.apply(bad)
    assert machine.tree() == before
    # inside: applied and read back; the same value again is a no-op
    for v in sorted({avail[0], avail[-1], avail[len(avail) // 2]}):
        k.apply(v)
        assert _close(k.read(), v), f"{name}: applied {v}, read {k.read()}"
        assert k.apply(v) is False
    k.restore()
    assert machine.tree() == before
    assert _close(k.read(), r0)
    k.restore()  # idempotent
    assert machine.tree() == before
    if entry.restorer is None:
        return
    # the restorer replays the JSON snapshot after a run that could not restore (SIGKILL); a
    # tampered snapshot is refused without a write, or (a path the restorer reads relative to its
    # root, e.g. a cgroup origin) stays inside the roots
    def changed_knob() -> tuple[dict[str, Any], dict[str, str]]:
        k2 = registry.make_knob(name, knob_options(machine))
        snap2 = json.loads(json.dumps(k2.snapshot()))
        k2.apply(avail[0] if not _close(avail[0], r0) else avail[-1])
        return snap2, machine.tree()

    snap2, changed = changed_knob()
    refused = 0
    for how, bad in _tampered(snap2, machine.outside):
        try:
            entry.restorer(bad, machine.roots)
        except SystemLayerError:
            refused += 1
            assert machine.tree() == changed, f"{name}: a refused snapshot ({how}) changed the machine"
        else:
            assert machine.tree() == before, f"{name}: an accepted snapshot ({how}) did not restore"
            snap2, changed = changed_knob()
        assert all(p.read_text().strip() == "untouched" for p in machine.outside.parent.iterdir()), how
    assert refused > 0
    entry.restorer(snap2, machine.roots)
    assert machine.tree() == before


# =============================================================================== the meter contract
@pytest.mark.parametrize("name", METER_NAMES)
def test_meter_contract(name: str, machine: FakeMachine) -> None:
    knob = registry.make_knob("simulated", knob_options(machine))
    m = registry.make_meter(name, MeterOptions(roots=machine.roots, nvml=lambda: machine.nvml, clock=machine.clock,
                                               knob=knob))
    try:
        readings = []
        for i in range(8):  # 0.7 J per window over a 1 J counter range: a wrap every other window
            m.start()
            machine.advance(0.7, 0.5 + 0.1 * i)
            readings.append(m.stop())
        for r in readings:
            assert isinstance(r.method, str) and r.method
            assert math.isfinite(r.energy_j) and r.energy_j >= 0, (name, r)
            assert math.isfinite(r.seconds) and r.seconds >= 0, (name, r)
        if name == "rapl":  # the counter meter sees every wrap: exactly 0.7 J each
            assert [round(r.energy_j, 9) for r in readings] == [0.7] * 8
    finally:
        m.close()


def test_registry_rejects_unknown_units_and_roots() -> None:
    with pytest.raises(ValueError, match="unit"):
        registry.register_knob(KnobEntry("bad", "bad", "furlongs", lambda o: ToyFileKnob(Path("/"))))
    with pytest.raises(ValueError, match="roots"):
        registry.register_knob(KnobEntry("bad", "bad", "W", lambda o: ToyFileKnob(Path("/")), roots=("home",)))
    assert "bad" not in registry.knob_names()


def test_cli_choices_come_from_the_registry() -> None:
    from alert.cli import build_parser

    p = build_parser()
    args = p.parse_args(["run", "--profile", "p", "--goal", "g", "--models", "m:f", "--knob", "toy-file",
                         "--meter", "toy"])
    assert args.knob == "toy-file" and args.meter == "toy"
