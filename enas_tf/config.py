"""One config object for an ENAS micro search; defaults are the official CIFAR-10 settings.

``main.py`` fills it from absl flags; notebooks build it directly. Library code only
ever sees this object, never flags.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

DATASETS = ("cifar10", "digits")


@dataclasses.dataclass
class SearchConfig:
    """ENAS micro search settings (official `cifar10_micro_search.sh` unless noted)."""

    # Data.
    dataset: str = "cifar10"
    data_dir: str | None = None
    download: bool = True
    num_valid: int = 5000
    # Supernet.
    num_layers: int = 6
    num_nodes: int = 5
    filters: int = 20
    keep_prob: float = 0.9
    aux_weight: float = 0.4
    # Shared-weight training.
    batch_size: int = 160
    num_epochs: int = 150
    steps_per_epoch: int | None = None  # None: one pass over the training split.
    l2_reg: float = 1e-4
    lr_max: float = 0.05
    lr_min: float = 0.0005
    lr_t0: int = 10
    lr_t_mul: int = 2
    momentum: float = 0.9
    grad_bound: float = 5.0  # Per-variable norm clip; the official code meant this but dropped it.
    # Controller.
    lstm_size: int = 64
    tanh_constant: float = 1.1
    op_tanh_reduce: float = 2.5
    temperature: float = 0.0  # 0 disables, as official CIFAR-10.
    controller_lr: float = 0.0035
    entropy_weight: float = 1e-4
    baseline_decay: float = 0.99
    controller_train_steps: int = 30
    controller_num_aggregate: int = 10
    # Deriving the final architecture.
    derive_num_samples: int = 100
    # Run.
    output_dir: str = "runs/enas_micro"
    seed: int = 0
    log_every: int = 50
    max_checkpoints: int = 3

    # Fields that may differ when resuming a run (nothing else may).
    RESUMABLE_CHANGES = ("num_epochs", "output_dir", "log_every", "max_checkpoints",
                         "derive_num_samples", "data_dir", "download")

    def validate(self) -> "SearchConfig":
        """Raises ``ValueError`` naming the first bad setting; returns self."""
        def need(condition: bool, message: str) -> None:
            if not condition:
                raise ValueError(message)

        need(self.dataset in DATASETS,
             f"dataset must be one of {', '.join(DATASETS)}, got {self.dataset!r}.")
        for name in ("num_layers", "num_nodes", "batch_size", "num_epochs", "lr_t0", "lr_t_mul",
                     "lstm_size", "controller_train_steps", "controller_num_aggregate",
                     "derive_num_samples", "log_every", "max_checkpoints", "num_valid"):
            need(int(getattr(self, name)) >= 1, f"{name} must be >= 1, got {getattr(self, name)}.")
        need(self.filters >= 2 and self.filters % 2 == 0,
             f"filters must be an even number >= 2 (factorized reductions split channels in "
             f"two), got {self.filters}.")
        need(0.0 < self.keep_prob <= 1.0, f"keep_prob must be in (0, 1], got {self.keep_prob}.")
        need(self.steps_per_epoch is None or self.steps_per_epoch >= 1,
             f"steps_per_epoch must be >= 1 or unset, got {self.steps_per_epoch}.")
        need(0.0 < self.lr_min <= self.lr_max,
             f"need 0 < lr_min <= lr_max, got lr_min={self.lr_min}, lr_max={self.lr_max}.")
        need(0.0 <= self.baseline_decay < 1.0,
             f"baseline_decay must be in [0, 1), got {self.baseline_decay}.")
        for name in ("aux_weight", "l2_reg", "entropy_weight", "grad_bound", "temperature",
                     "controller_lr", "momentum"):
            need(getattr(self, name) >= 0.0, f"{name} must be >= 0, got {getattr(self, name)}.")
        need(self.tanh_constant >= 0.0 and self.op_tanh_reduce > 0.0,
             "tanh_constant must be >= 0 and op_tanh_reduce > 0.")
        need(bool(self.output_dir), "output_dir must be set.")
        return self

    def steps_for(self, num_train: int) -> int:
        """Shared-weight steps per epoch for a training split of ``num_train`` images."""
        return self.steps_per_epoch or math.ceil(num_train / self.batch_size)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SearchConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown config keys: {', '.join(unknown)}.")
        return cls(**data)

    def incompatible_changes(self, saved: dict[str, Any]) -> list[str]:
        """Settings that differ from a saved run's and would break resuming it."""
        return sorted(key for key, value in self.to_dict().items()
                      if key not in self.RESUMABLE_CHANGES and key in saved
                      and saved[key] != value)
