"""alert: ALERT (USENIX ATC 2020) - pick the DNN and the resource setting for every input.

    import alert
    profile = alert.Profile.load("examples/laptop-cpu.json")
    ctl = alert.Controller(profile, alert.MinimizeEnergy(deadline=0.1, accuracy=0.9))
    d = ctl.decide(); ...; ctl.observe(latency=0.093)
"""

from alert.controller import Controller, ControllerConfig, Decision, initial_idle_ratio
from alert.estimate import Estimates, estimate
from alert.estimators import ESTIMATORS, Estimator, make_estimator
from alert.filters import IdlePowerFilter, MeasurementGuard, SlowdownFilter
from alert.goals import (
    Goal,
    GoalError,
    MaximizeAccuracy,
    MinimizeEnergy,
    MinimizeLatency,
    parse_goal,
    register_goal,
)
from alert.profile import Candidate, Model, Profile, ProfileError, Setting
from alert.select import Selection, select

__version__ = "0.1.0"

__all__ = [
    "ESTIMATORS", "Candidate", "Controller", "ControllerConfig", "Decision", "Estimates", "Estimator", "Goal",
    "GoalError",
    "IdlePowerFilter", "make_estimator",
    "MaximizeAccuracy", "MeasurementGuard", "MinimizeEnergy", "MinimizeLatency", "Model", "Profile",
    "ProfileError", "Selection", "Setting", "SlowdownFilter", "__version__", "estimate", "initial_idle_ratio",
    "parse_goal", "register_goal", "select",
]
