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


def exponential_lr(epoch: int, lr_max: float, decay: float) -> float:
    """``lr_max * decay**epoch``: DARTS's ImageNet schedule (``StepLR`` with a period of
    one epoch, gamma 0.97)."""
    if epoch < 0:
        raise ValueError(f"epoch must be >= 0, got {epoch}.")
    return lr_max * decay ** epoch


def epoch_learning_rate(config, epoch: int) -> float:
    """The learning rate of ``epoch`` under ``config``'s schedule (``lr_schedule``:
    cosine restarts unless it says exponential)."""
    if getattr(config, "lr_schedule", "cosine") == "exponential":
        return exponential_lr(epoch, config.lr_max, config.lr_decay)
    return cosine_restarts_lr(epoch, config.lr_max, config.lr_min, config.lr_t0,
                              config.lr_t_mul)
