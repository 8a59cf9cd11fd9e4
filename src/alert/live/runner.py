"""Running a model for one input: the runner interface, the stage-by-stage runner of anytime
models (stops at the chosen stage or at the deadline, whichever comes first, and returns its
latest output) and the torch wrapper."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class RunOutput:
    """What a runner returns: the output available, the 1-based stage that produced it
    (0: nothing by the deadline; None: traditional model) and the predicted classes if known
    (one per item of the batch)."""

    output: Any
    stage: int | None
    prediction: Any = None
    output_time: float | None = None  # seconds from the start to the returned output (anytime)


class Runner(Protocol):
    """Run ``x`` (an anytime model up to ``stage`` or the ``deadline`` in seconds from the call).

    ``stage_ends`` are the expected end times of stages 1..stage (μ·t_prof at the applied
    setting); a runner that cannot pre-empt a stage uses them to skip a stage that would end
    after the deadline."""

    def __call__(self, x: Any, stage: int | None, deadline: float | None,
                 stage_ends: Sequence[float] | None = None) -> RunOutput: ...


def predicted_classes(out: Any) -> list[int] | None:
    """Predicted class of every item of a batch of logits."""
    if out is None:
        return None
    import numpy as np

    a = np.asarray(out.detach() if hasattr(out, "detach") else out)
    return a.reshape(-1, a.shape[-1]).argmax(-1).tolist()


def fraction_correct(pred: Any, label: Any) -> float:
    """Share of the batch predicted right; -1 when there is no label; 0 when there is no output."""
    import numpy as np

    if label is None:
        return -1.0
    lab = np.atleast_1d(np.asarray(label)).reshape(-1)
    if pred is None:
        return 0.0
    p = np.atleast_1d(np.asarray(pred)).reshape(-1)
    return float(np.mean(p == lab)) if p.shape == lab.shape else 0.0


def run_stages(model: Any, x: Any, stage: int | None, deadline: float | None,
               stage_ends: Sequence[float] | None = None,
               clock: Callable[[], float] = time.perf_counter) -> RunOutput:
    """Run an anytime model (``init_state``/``run_stage``) stage by stage.

    Stops after ``stage``; before a stage, stops when its expected duration (from ``stage_ends``)
    would carry it past ``deadline``; a stage that still ends late is not delivered (the earlier
    output is). Stage 1 always runs."""
    k_max = int(stage or model.n_stages)
    t0 = clock()
    state = model.init_state(x)
    out, reached, t_out = None, 0, None
    for k in range(k_max):
        if deadline is not None and k > 0 and stage_ends is not None:
            if clock() - t0 + (stage_ends[k] - stage_ends[k - 1]) > deadline:
                break
        o = model.run_stage(k, state)
        t = clock() - t0
        if deadline is not None and t > deadline:
            break
        out, reached, t_out = o, k + 1, t
    return RunOutput(out, reached, predicted_classes(out), t_out)


def torch_runner(model: Any) -> Runner:
    """Wrap a torch model: an :class:`alert.nn.anytime.AnytimeNet` with several stages runs stage
    by stage (:func:`run_stages`); anything else is called once (traditional)."""
    import torch

    multi = hasattr(model, "run_stage") and getattr(model, "n_stages", 1) > 1

    def run(x: Any, stage: int | None, deadline: float | None,
            stage_ends: Sequence[float] | None = None) -> RunOutput:
        with torch.inference_mode():
            if multi:
                return run_stages(model, x, stage, deadline, stage_ends)
            out = model(x)
            if isinstance(out, (list, tuple)):
                out = out[-1]
            return RunOutput(out, None, predicted_classes(out))

    return run


