"""Learning-rate schedules used by the training loops."""

from __future__ import annotations

import math


def cosine_restarts_lr(epoch: int, lr_max: float, lr_min: float, t0: int = 10,
                       t_mul: int = 2) -> float:
    """Epoch-granular cosine annealing with warm restarts (SGDR), as official ENAS.

    With t0=10, t_mul=2 the restarts fall at epochs 10, 30, 70, 150, 310, 630, so runs
    of those lengths end exactly at ``lr_min``.
    """
    if epoch < 0:
        raise ValueError(f"epoch must be >= 0, got {epoch}.")
    period, start = t0, 0
    while epoch >= start + period:
        start += period
        period *= t_mul
    progress = (epoch - start) / period
    return lr_min + 0.5 * (lr_max - lr_min) * (1.0 + math.cos(math.pi * progress))
