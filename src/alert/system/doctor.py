"""``alert doctor``: which knobs and meters work on this machine, and why the others do not.

Every check really touches the interface it reports on: it opens the powercap and cpufreq
files, creates and removes a probe cgroup with a quota, initialises NVML, imports torch.
Nothing is left changed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from alert.system import cgroup as cg
from alert.system import sysfs
from alert.system.cpufreq import CpufreqCap
from alert.system.errors import SystemLayerError
from alert.system.meters import RaplMeter, cgroup_cpu_seconds, process_cpu_seconds
from alert.system.rapl import RaplPowerCap, find_rapl_zones
from alert.system.roots import SystemRoots

#: the roots of the kernel interfaces (the knob registry's allowlist)
SystemPaths = SystemRoots


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report."""

    kind: str  # "knob" or "meter"
    name: str
    ok: bool
    detail: str
    fix: str = ""


@dataclass
class Doctor:
    """Runs the checks; ``nvml_loader`` and ``torch_loader`` are injectable for tests."""

    paths: SystemRoots = field(default_factory=SystemRoots)
    nvml_loader: Callable[[], ModuleType] | None = None
    torch_loader: Callable[[], ModuleType] | None = None

    def run(self) -> list[Check]:
        """The doctor check of every registered knob, then of every registered meter."""
        from alert.system import registry

        self._nvml_cache: list[Check] | None = None
        out: list[Check] = []
        for e in list(registry.KNOBS.values()) + list(registry.METERS.values()):
            if e.doctor is not None:
                out += e.doctor(self)
        return out

    def cpu_time_meter(self) -> list[Check]:
        return [Check("meter", "cpu-time model", True,
                      f"process CPU clock readable ({process_cpu_seconds():.2f} s so far); energy is modelled "
                      "from busy core-seconds x W/core + idle W")]

    def simulated_knob(self) -> Check:
        return Check("knob", "simulated", True, "always available (changes nothing)")

    def simulated_meter(self) -> Check:
        return Check("meter", "simulated", True, "always available (power from the simulated setting)")

    def rapl_knobs(self) -> list[Check]:
        return [c for c in self.rapl() if c.kind == "knob"]

    def rapl_meters(self) -> list[Check]:
        return [c for c in self.rapl() if c.kind == "meter"]

    def nvml_checks(self, kind: str, prefix: str) -> list[Check]:
        """The NVML checks of one kind whose name starts with ``prefix`` (NVML is probed once per run)."""
        if getattr(self, "_nvml_cache", None) is None:
            self._nvml_cache = self.nvml()
        return [c for c in self._nvml_cache or [] if c.kind == kind and c.name.startswith(prefix)]

    # ---------------------------------------------------------------- RAPL
    def rapl(self) -> list[Check]:
        zones = find_rapl_zones(self.paths.powercap)
        if not zones:
            fix = ("needs a bare-metal Intel or AMD CPU with the powercap driver loaded (modprobe intel_rapl_msr); "
                   "virtual machines and containers usually hide RAPL")
            why = f"{self.paths.powercap} does not exist" if not self.paths.powercap.exists() else \
                f"no intel-rapl zone under {self.paths.powercap}"
            return [Check("knob", "rapl power cap", False, why, fix), Check("meter", "rapl energy", False, why, fix)]
        out = []
        for z in zones:
            try:
                k = RaplPowerCap(z)
                lo, hi = k.limits()
                out.append(Check("knob", f"rapl power cap {z.name}", True, f"{lo:g}-{hi:g} W (long_term), now {k.read():g} W"))
            except SystemLayerError as e:
                out.append(Check("knob", f"rapl power cap {z.name}", False, f"{e.what}: {e.problem}", e.fix))
            try:
                m = RaplMeter(z)
                out.append(Check("meter", f"rapl energy {z.name}", True,
                                 f"{m.method}, wraps at {m.range_uj / 1e6:.0f} J"))
            except SystemLayerError as e:
                out.append(Check("meter", f"rapl energy {z.name}", False, f"{e.what}: {e.problem}", e.fix))
        return out

    # ---------------------------------------------------------------- cpufreq
    def cpufreq(self) -> Check:
        try:
            k = CpufreqCap(self.paths.cpu)
            lo, hi = k.limits()
            return Check("knob", "cpufreq cap", True, f"{len(k.dirs)} CPUs, {lo:g}-{hi:g} MHz, now {k.read():g} MHz")
        except SystemLayerError as e:
            return Check("knob", "cpufreq cap", False, f"{e.what}: {e.problem}", e.fix)

    # ---------------------------------------------------------------- cgroups
    def cgroup(self) -> list[Check]:
        try:
            version, mount = cg.detect(self.paths.cgroup)
        except SystemLayerError as e:
            bad = Check("knob", "cgroup cpu quota", False, f"{e.what}: {e.problem}", e.fix)
            return [bad, Check("meter", "cgroup cpu accounting", False, bad.detail, bad.fix)]
        out = []
        probe = mount / f"alert-doctor-{os.getpid()}"
        try:
            cg.make_group(probe)
            try:
                if version == "v1":
                    sysfs.write_text(probe / "cpu.cfs_quota_us", 50_000)
                    ok = sysfs.read_int(probe / "cpu.cfs_quota_us") == 50_000
                else:
                    sysfs.write_text(probe / "cpu.max", "50000 100000")
                    ok = sysfs.read_text(probe / "cpu.max").startswith("50000")
            finally:
                cg.remove_group(probe)
            ncpu = len(os.sched_getaffinity(0))
            out.append(Check("knob", "cgroup cpu quota", ok,
                             f"cgroup {version} at {mount}: created and removed a probe cgroup with a quota; "
                             f"range 0.01-{ncpu} cores" if ok else "the quota written did not read back",
                             "" if ok else "check that the cpu controller is enabled"))
        except PermissionError:
            out.append(Check("knob", "cgroup cpu quota", False, f"cannot create a cgroup under {mount} (permission denied)",
                             "run as root, or delegate a cgroup subtree to this user (systemd-run --user -p Delegate=yes)"))
        except (OSError, SystemLayerError) as e:
            out.append(Check("knob", "cgroup cpu quota", False, f"probe cgroup under {mount} failed: {e}",
                             "run as root with a writable cgroup hierarchy"))
        out.append(self.placement(version, mount))
        acct = [mount] + ([self.paths.cgroup / "cpuacct"] if version == "v1" else [])
        for a in acct:
            try:
                cgroup_cpu_seconds(a)
                out.append(Check("meter", "cgroup cpu accounting", True, f"readable at {a}"))
                break
            except SystemLayerError:
                continue
        else:
            out.append(Check("meter", "cgroup cpu accounting", False, f"no cpuacct.usage or cpu.stat usage_usec at {mount}",
                             "mount the cpuacct controller (v1) or use cgroup v2"))
        return out

    def placement(self, version: str, mount: Path) -> Check:
        """Where the quota cgroup of this process would go, what it would carry, and whether knobd
        would serve a non-root client running in the same cgroup (docs/system.md)."""
        name = "cgroup placement"
        try:
            origin = cg.origin_of(os.getpid(), version, self.paths.proc)
            lim = cg.origin_limits(mount, version, origin)
        except (SystemLayerError, OSError, ValueError) as e:
            return Check("knob", name, False, f"cannot read this process's cgroup path: {e}",
                         "run alert doctor on the machine itself (its /proc and cgroup tree)")
        parent = mount.joinpath(*lim.parent)
        carried = ", ".join(f"{k} {v}" for k, v in (*lim.v2, *lim.cpuset)) or "no limit"
        if lim.weight is not None:
            carried += f" (and a cpu.weight of at most {lim.weight})"
        cap = "no CPU quota on its path" if lim.cores is None else f"at most {float(lim.cores):g} cores on its path"
        detail = f"a process in {origin} gets its quota cgroup under {parent} ({cap}), carrying {carried}"
        shared = [path for path, uid in lim.owners if uid == 0]  # (what a non-root client does not own)
        if shared:
            below = Path(shared[-1]).parent  # the deepest cgroup that sets one: the group must go under it
            return Check("knob", name, False, detail + f"; knobd refuses a non-root client in {origin}: "
                         f"{', '.join(shared)} (root's) set a limit the quota cgroup would have to copy",
                         f"enable cpu for the children of {below} (echo +cpu > {below / 'cgroup.subtree_control'}, "
                         "with cpu enabled on each cgroup above it), or start knobd with --copy-shared-limits "
                         "(docs/system.md, knobd)")
        return Check("knob", name, True, detail + "; knobd serves a non-root client there")

    # ---------------------------------------------------------------- threads
    def threads(self) -> Check:
        try:
            torch = self.torch_loader() if self.torch_loader else __import__("torch")
        except ImportError:
            return Check("knob", "torch threads", False, "PyTorch is not installed", "pip install 'alert-atc[torch]'")
        return Check("knob", "torch threads", True,
                     f"torch {torch.__version__}: 1-{len(os.sched_getaffinity(0))} intra-op threads, now {torch.get_num_threads()}")

    # ---------------------------------------------------------------- NVML
    def nvml(self) -> list[Check]:
        from alert.system.meters import NvmlMeter
        from alert.system.nvml import NvmlLockedClocks, NvmlPowerLimit, load_nvml

        try:
            nv = (self.nvml_loader or load_nvml)()
        except SystemLayerError as e:
            detail, fix = f"{e.what}: {e.problem}", e.fix
            if not (self.paths.dev / "nvidiactl").exists():
                detail += f"; no NVIDIA device ({self.paths.dev / 'nvidiactl'} absent)"
                fix = f"needs an NVIDIA GPU with its driver; then {e.fix}"
            return [Check("knob", "nvml power limit", False, detail, fix),
                    Check("knob", "nvml locked clocks", False, detail, fix),
                    Check("meter", "nvml energy", False, detail, fix)]
        out = []
        n = int(nv.nvmlDeviceGetCount()) if hasattr(nv, "nvmlDeviceGetCount") else 1
        root_note = "" if os.geteuid() == 0 else " (setting it needs root)"
        for i in range(n):
            for name, cls in (("nvml power limit", NvmlPowerLimit), ("nvml locked clocks", NvmlLockedClocks)):
                try:
                    k = cls(nv, i)
                    lo, hi = k.limits()
                    out.append(Check("knob", f"{name} gpu{i}", True, f"{lo:g}-{hi:g} {k.unit}{root_note}"))
                except SystemLayerError as e:
                    out.append(Check("knob", f"{name} gpu{i}", False, f"{e.what}: {e.problem}", e.fix))
            try:
                m = NvmlMeter(nv, i, sample_interval=None)
                how = "total-energy counter for windows >= 1 s" if m.has_counter else "no energy counter"
                out.append(Check("meter", f"nvml energy gpu{i}", True, f"power sampling + {how}"))
            except SystemLayerError as e:
                out.append(Check("meter", f"nvml energy gpu{i}", False, f"{e.what}: {e.problem}", e.fix))
        return out


def format_checks(checks: list[Check]) -> str:
    """A table: status, kind, name, detail, and the fix on its own line when something fails."""
    lines = []
    for c in checks:
        lines.append(f"[{'ok' if c.ok else '--'}] {c.kind:<5} {c.name:<26} {c.detail}")
        if not c.ok and c.fix:
            lines.append(f"{'':<35}fix: {c.fix}")
    n_ok = sum(c.ok for c in checks if c.kind == "knob" and c.name not in ("simulated", "cgroup placement"))
    lines.append(f"{n_ok} real knob(s) usable on this machine")
    return "\n".join(lines)
