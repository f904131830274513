"""ENAS: an LSTM controller samples the architecture of every shared-weight step and
learns by REINFORCE from validation minibatches in a phase after each epoch.

Per epoch (official ``main.py``): one pass of shared-weight steps, each on a freshly
sampled architecture (sampled inside the step's ``tf.function``); then
``controller_train_steps`` REINFORCE updates, each one compiled call that samples and
rewards ``controller_num_aggregate`` architectures. The result is the best of
``derive_num_samples`` sampled architectures on one validation batch (paper, Sec. 3.2).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from enas_tf.controllers.reinforce import Reinforce
from enas_tf.options import Settings, need, option
from enas_tf.strategies.base import (SearchStrategy, StrategyContext, best_of_samples,
                                     make_search_steps, register_strategy)
from enas_tf.training.progress import Progress
from enas_tf.training.run_dir import epoch_seed
from enas_tf.training.summaries import write_policy_pictures


@dataclasses.dataclass
class ControllerSettings(Settings):
    """The ENAS controller and its REINFORCE trainer (official CIFAR-10 values)."""

    lstm_size: int = option(64, "Controller LSTM units.", minimum=1)
    tanh_constant: float = option(1.1, "Controller logits become tanh_constant * "
                                  "tanh(logits).")
    op_tanh_reduce: float = option(2.5, "Op logits use tanh_constant / op_tanh_reduce.")
    temperature: float = option(0.0, "Controller logits are divided by this first; 0 "
                                "disables (as official CIFAR-10).", minimum=0)
    controller_lr: float = option(0.0035, "Controller Adam learning rate.", minimum=0)
    entropy_weight: float = option(1e-4, "Weight of the policy entropy added to the reward.",
                                   minimum=0)
    baseline_decay: float = option(0.99, "Decay of the reward moving-average baseline.",
                                   within="[0, 1)")
    controller_train_steps: int = option(30, "Controller updates per epoch.", minimum=1)
    controller_num_aggregate: int = option(
        10, "Sampled architectures averaged per controller update.", minimum=1)

    MODES = ("search",)

    def check(self) -> None:
        need(self.tanh_constant >= 0.0 and self.op_tanh_reduce > 0.0,
             "tanh_constant must be >= 0 and op_tanh_reduce > 0.")


@register_strategy
class ENASStrategy(SearchStrategy):
    """The ENAS controller and its REINFORCE trainer as a search strategy.

    Args:
      context: what it sees of the search (``StrategyContext``); the loop makes it.

    Example:

    ```python
    config = SearchConfig.for_space("micro", strategy="enas", dataset="digits")
    result = Search(config, load_dataset("digits")).run()
    ```
    """

    name = "enas"
    summary = "a REINFORCE controller samples one per step"
    needs_controller = True
    settings = ControllerSettings
    # AutoDL-Projects' ENAS on NAS-Bench-201 (configs/nas-benchmark/algos/ENAS.config):
    # 310 epochs of SGD 0.05 -> 0.0005 with restarts, weight decay 2.5e-4, batch 128.
    space_defaults = {"nb201": dict(
        num_epochs=310, lr_max=0.05, lr_min=0.0005, lr_t0=10, lr_t_mul=2, weight_decay=2.5e-4,
        batch_size=128, lstm_size=32, temperature=5.0, tanh_constant=2.5, controller_lr=0.001,
        entropy_weight=1e-4, baseline_decay=0.99, controller_train_steps=50,
        controller_num_aggregate=20)}
    stats_prefix = "controller"
    stat_tags = {"accuracy": "sampled_valid_accuracy"}
    accuracy_label = "sampled architectures' validation accuracy (shared weights)"

    def __init__(self, context: StrategyContext):
        super().__init__(context)
        cfg = self.config
        self.controller = context.components.make_controller(self.search_space, cfg)
        self.reinforce = Reinforce(self.controller, learning_rate=cfg.controller_lr,
                                   entropy_weight=cfg.entropy_weight,
                                   baseline_decay=cfg.baseline_decay,
                                   **context.components.reinforce_kwargs)
        self.steps = make_search_steps(context, self.reinforce)
        if context.metric.name != "accuracy":
            self.accuracy_label = ("sampled architectures' validation "
                                   f"{context.metric.reward_label} (shared weights)")
        self.stat_names = ("accuracy", "entropy", "reward", "log_prob", "baseline",
                           *self.controller.stat_names)
        if context.metric.name != "accuracy":  # e.g. the perplexity the rewards stand for
            self.stat_names += (f"valid_{context.metric.name}",)

    def checkpoint_items(self) -> dict[str, Any]:
        return {"controller": self.controller, "reinforce": self.reinforce}

    def start_epoch(self, epoch: int) -> None:
        self.steps.start_epoch()

    def shared_step(self, images, labels):
        loss, accuracy, _ = self.steps.search_step(images, labels)
        return loss, accuracy

    def end_epoch(self, epoch: int) -> dict[str, float]:
        """The controller phase: REINFORCE updates on validation minibatches."""
        cfg, context = self.config, self.context
        dataset = context.data.dataset("valid", cfg.batch_size,
                                      shuffle_seed=epoch_seed(cfg.seed, epoch) + 1,
                                      repeat=True, drop_remainder=True)
        iterator = iter(context.distribution.experimental_distribute_dataset(dataset))
        progress = Progress(cfg.controller_train_steps, cfg.verbose,
                            f"epoch {epoch + 1}/{cfg.num_epochs} controller", unit="update")
        collected: dict[str, list[float]] = {}
        for update in range(cfg.controller_train_steps):
            stats = self.steps.controller_update(iterator, cfg.controller_num_aggregate)
            for key, value in stats.items():
                collected.setdefault(key, []).append(float(value))
            progress.update(update + 1, [("sampled valid accuracy", collected["accuracy"][-1]),
                                         ("entropy", collected["entropy"][-1])])
        means = {key: float(np.mean(values)) for key, values in collected.items()}
        metric = context.metric
        if metric.name != "accuracy":
            means[f"valid_{metric.name}"] = metric.from_reward(means["accuracy"])
        return means | {"baseline": float(self.reinforce.baseline)}

    def most_likely(self) -> tuple[int, ...]:
        return self.search_space.validate(self.steps.most_likely_arc().numpy())

    def derive(self, seed: int) -> tuple[tuple[int, ...], dict[str, Any]]:
        """The best of ``derive_num_samples`` sampled architectures on one validation
        batch (all scored on the same batch)."""
        return best_of_samples(self.context, self.steps.sample_arc,
                               self.config.derive_num_samples, seed)

    def write_summaries(self, epoch: int) -> tuple[int, ...]:
        return write_policy_pictures(self.controller, epoch, self.steps.sample_with_probabilities)
