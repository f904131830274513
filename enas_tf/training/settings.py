"""The training settings every run has: the weights' SGD and schedule, and the run's
output, logging and reproducibility.

Example:

```python
TrainingSettings(batch_size=64, lr_max=0.025).steps_for(50000)   # 782
```
"""

from __future__ import annotations

import dataclasses
import math

from enas_tf.options import Settings, need, option

# What ``grad_bound`` clips (``enas_tf.training.optimizers``).
CLIP_MODES = ("per_variable", "global")
# How the learning rate moves over the epochs (``enas_tf.training.schedules``).
LR_SCHEDULES = ("cosine", "exponential", "warmup_cosine")


@dataclasses.dataclass
class TrainingSettings(Settings):
    """SGD with momentum and cosine restarts; defaults are the official ENAS micro ones."""

    batch_size: int = option(160, "Global batch size (split across replicas).", minimum=1,
                             final=144)
    num_epochs: int = option(
        150, "Search epochs (one shared-weight pass plus one controller phase each).",
        minimum=1, resumable=True, final=630)
    steps_per_epoch: int | None = option(
        None, "Shared-weight steps per epoch (default: one pass over the train split).",
        minimum=1)
    l2_reg: float = option(1e-4, "L2 coefficient on every supernet weight (loss += l2_reg "
                           "* sum(w^2)).", minimum=0, final=2e-4)
    lr_max: float = option(0.05, "Cosine-restart maximum learning rate.")
    lr_min: float = option(0.0005, "Cosine-restart minimum learning rate.", final=0.0001)
    lr_t0: int = option(
        10, "Epochs of the first cosine period; 0: one period over the whole run "
        "(num_epochs, less a warm-up), as DARTS, GDAS and NAS-Bench-201 anneal.", minimum=0)
    lr_t_mul: int = option(2, "Period multiplier at each restart.", minimum=1)
    momentum: float = option(0.9, "Momentum of the weights' SGD.", minimum=0)
    nesterov: bool = option(True, "Nesterov momentum (official ENAS); off: plain momentum "
                            "(DARTS).")
    grad_bound: float = option(5.0, "Gradient norm clip of the weights' SGD; 0 disables "
                               "(the official ENAS code meant this but dropped it).", minimum=0)
    grad_clip: str = option(
        "per_variable", "What grad_bound clips: per_variable (each variable's norm, official "
        "ENAS) or global (the norm of all gradients together, DARTS).", choices=CLIP_MODES)
    weight_decay: float = option(
        0.0, "Coupled weight decay of the weights' SGD, added to the gradient as in PyTorch "
        "(DARTS); ENAS uses l2_reg in the loss instead.", minimum=0)
    jit_compile: bool = option(False, "Compile the train step with XLA.", resumable=True)
    lr_schedule: str = option(
        "cosine", "Final: the learning-rate schedule: cosine (restarts by lr_t0, lr_t_mul; "
        "ENAS, DARTS on CIFAR), exponential (lr_max * lr_decay**epoch; DARTS on ImageNet) "
        "or warmup_cosine (AutoDL's: a linear warm-up of lr_warmup_epochs, step by step, "
        "then one cosine period of lr_t0 epochs from there, and lr_min from epoch lr_t0 on; "
        "GDAS's retraining).", choices=LR_SCHEDULES, modes=("final",))
    lr_warmup_epochs: int = option(
        0, "Final, warmup_cosine schedule: epochs of linear warm-up.", minimum=0,
        modes=("final",))
    lr_decay: float = option(0.97, "Final, exponential schedule: the factor per epoch.",
                             within="(0, 1]", modes=("final",))
    label_smoothing: float = option(
        0.0, "Final: label smoothing of the training cross-entropy (and of the auxiliary "
        "head's); DARTS's ImageNet recipe uses 0.1.", within="[0, 1)", modes=("final",))

    MODES = ("search", "final")

    def steps_for(self, num_train: int) -> int:
        """SGD steps per epoch for a training split of ``num_train`` examples."""
        return self.steps_per_epoch or math.ceil(num_train / self.batch_size)

    def check(self) -> None:
        need(0.0 <= self.lr_min <= self.lr_max and self.lr_max > 0,
             f"need 0 <= lr_min <= lr_max and lr_max > 0, got lr_min={self.lr_min}, "
             f"lr_max={self.lr_max}.")


@dataclasses.dataclass
class RunSettings(Settings):
    """Where a run writes, how it logs, and how it starts and repeats."""

    output_dir: str = option(
        "runs/enas_micro", "Where TensorBoard logs, checkpoints and the derived architecture "
        "go; rerunning with the same directory resumes.", resumable=True,
        final="runs/enas_micro_final")
    seed: int = option(0, "Random seed.", minimum=0)
    log_every: int = option(50, "Log the training loss every this many steps.", minimum=1,
                            resumable=True)
    max_checkpoints: int = option(3, "Checkpoints kept.", minimum=1, resumable=True)
    verbose: int = option(1, "1: progress bars with rate and ETA and one line per epoch; 0: "
                          "log lines only.", choices=(0, 1), resumable=True)
    restart: bool = option(
        False, "Remove what an earlier run wrote in --output_dir (checkpoints, logs, "
        "results) and start over; without it a rerun resumes.", resumable=True)
    deterministic: bool = option(
        False, "TensorFlow op determinism: the same seed gives the same run, also across a "
        "kill and resume (slower on GPUs).")

    MODES = ("search", "final")

    def check(self) -> None:
        need(bool(self.output_dir), "output_dir must be set.")
