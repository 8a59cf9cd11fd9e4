"""The evaluation suite (paper §5): replayable traces, schemes, oracles, metrics and the report.

Modules, one job each:

- ``traces``     the trace format (per input × configuration latency, power, idle power, state)
- ``scenarios``  synthetic, paper-shaped trace generators (platforms × tasks × workloads)
- ``replay``     the paper's per-input semantics, vectorised over configurations
- ``metrics``    constraint grids, the violation rule, normalisation, harmonic means
- ``oracles``    Oracle, OracleStatic, Oracle_State
- ``powerctl``   a POET/CALOREE-style Kalman latency feedback power controller
- ``schemes``    every scheme behind one interface (ALERT variants run ``alert.Controller``)
- ``suite``      running a whole suite; ``report`` tables and figures; ``cli`` the commands
"""

from alert.evaluation.traces import Trace, TraceError

__all__ = ["Trace", "TraceError"]
