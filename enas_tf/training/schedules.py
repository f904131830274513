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


def warmup_cosine_lr(epoch: int, progress: float, lr_max: float, lr_min: float,
                     warmup: int, t_max: int) -> float:
    """AutoDL-Projects' ``CosineAnnealingLR`` (``xautodl/procedures/optimizers.py``):
    ``(epoch + progress) / warmup * lr_max`` during the warm-up (``progress``: the
    fraction of the epoch done), then ``lr_min + (lr_max - lr_min) (1 + cos(pi (epoch -
    warmup) / t_max)) / 2``, and ``lr_min`` from epoch ``t_max`` on (AutoDL passes its
    epochs without the warm-up as the end, so GDAS's 5 + 295 epochs end with 5 at 0)."""
    if epoch < 0:
        raise ValueError(f"epoch must be >= 0, got {epoch}.")
    if epoch < warmup:
        return (epoch + progress) / warmup * lr_max
    if epoch < t_max:
        cosine = math.cos(math.pi * (epoch - warmup) / t_max)
        return lr_min + (lr_max - lr_min) * (1.0 + cosine) / 2
    return lr_min


def moves_within_epoch(config, epoch: int) -> bool:
    """Whether ``config``'s schedule changes the rate step by step during ``epoch`` (the
    warm-up of ``warmup_cosine``); else it is set once per epoch."""
    return (getattr(config, "lr_schedule", "cosine") == "warmup_cosine"
            and epoch < config.lr_warmup_epochs)


def cosine_period(config) -> int:
    """The first cosine period in epochs: ``lr_t0``, or with ``lr_t0=0`` the whole run
    (``num_epochs``, less the ``warmup_cosine`` warm-up, as AutoDL counts it), so a run
    shortened from Python still anneals to ``lr_min``."""
    if config.lr_t0:
        return config.lr_t0
    if getattr(config, "lr_schedule", "cosine") == "warmup_cosine":
        return max(1, config.num_epochs - config.lr_warmup_epochs)
    return config.num_epochs


def epoch_learning_rate(config, epoch: int, progress: float = 0.0) -> float:
    """The learning rate of ``epoch`` (``progress`` of it done) under ``config``'s
    schedule (``lr_schedule``: cosine restarts unless it says otherwise)."""
    schedule = getattr(config, "lr_schedule", "cosine")
    if schedule == "exponential":
        return exponential_lr(epoch, config.lr_max, config.lr_decay)
    if schedule == "warmup_cosine":
        return warmup_cosine_lr(epoch, progress, config.lr_max, config.lr_min,
                                config.lr_warmup_epochs, cosine_period(config))
    return cosine_restarts_lr(epoch, config.lr_max, config.lr_min, cosine_period(config),
                              config.lr_t_mul)
