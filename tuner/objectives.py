"""Checking a tuner's objective against what its model reports.

keras-tuner learns of an objective the model does not report (``"val_acc"`` when the
model is compiled with ``metrics=["accuracy"]``) only when a trial ends: every trial
then fails with a traceback until the failure limit stops the search. ``ENAS`` asks
``objective_problem`` first, on the model its first trial would build, and fails once
with the list of what the model does report; where that list cannot be known before
fitting (callbacks may add logs, models with several outputs name theirs), the first
trial's history is checked instead.

Example:

```python
problem = objective_problem("val_acc", reported_metrics(model, validation=True))
# "objective 'val_acc' is not reported by the model; it reports: loss, accuracy,
#  val_loss, val_accuracy."
```
"""

from __future__ import annotations

from typing import Iterable

import keras


def objective_names(objective) -> list[str]:
    """The metric names a keras-tuner objective (name, ``Objective`` or a list) needs."""
    if objective is None:
        return []
    if isinstance(objective, str):
        return [objective]
    if hasattr(objective, "objectives"):  # keras-tuner's MultiObjective
        return [name for o in objective.objectives for name in objective_names(o)]
    if isinstance(objective, (list, tuple)):
        return [name for o in objective for name in objective_names(o)]
    return [objective.name]


def reported_metrics(model: keras.Model, validation: bool) -> list[str] | None:
    """The names ``model.fit`` will log for a compiled single-output ``model`` (with the
    ``val_`` ones when ``validation``), or None when they cannot be known before fitting."""
    config = model.get_compile_config() if getattr(model, "compiled", False) else None
    if not config or len(model.outputs or []) > 1:
        return None
    metrics = config.get("metrics") or []
    if isinstance(metrics, dict):
        return None
    names = ["loss"]
    for metric in metrics:
        if isinstance(metric, str):
            names.append(metric)
        elif isinstance(metric, dict) and "name" in metric.get("config", {}):
            names.append(metric["config"]["name"])
        else:
            return None
    return names + [f"val_{name}" for name in names] if validation else names


def objective_problem(objective, reported: Iterable[str] | None) -> str | None:
    """The one-line refusal of an ``objective`` that is not among ``reported`` (None:
    nothing to refuse, or ``reported`` unknown)."""
    if reported is None:
        return None
    reported = list(reported)
    missing = [name for name in objective_names(objective) if name not in reported]
    if not missing:
        return None
    return (f"objective {missing[0]!r} is not reported by the model; it reports: "
            f"{', '.join(reported)}. Give one of those as the objective (val_ ones need "
            "validation_data or validation_split).")
