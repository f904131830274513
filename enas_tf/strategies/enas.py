"""ENAS: an LSTM controller samples the architecture of every shared-weight step and
learns by REINFORCE from validation minibatches in a phase after each epoch.

Per epoch (official ``main.py``): one pass of shared-weight steps, each on a freshly
sampled architecture (sampled inside the step's ``tf.function``); then
``controller_train_steps`` REINFORCE updates, each one compiled call that samples and
rewards ``controller_num_aggregate`` architectures. The result is the best of
``derive_num_samples`` sampled architectures on one validation batch (paper, Sec. 3.2).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from enas_tf.controllers.reinforce import Reinforce
from enas_tf.strategies.base import SearchStrategy, best_of_samples, make_search_steps
from enas_tf.training.progress import Progress
from enas_tf.training.run_dir import epoch_seed
from enas_tf.training.summaries import write_policy_pictures


class ENASStrategy(SearchStrategy):
    """The ENAS controller and its REINFORCE trainer as a search strategy."""

    name = "enas"
    stats_prefix = "controller"
    stat_tags = {"accuracy": "sampled_valid_accuracy"}
    accuracy_label = "sampled architectures' validation accuracy (shared weights)"

    def __init__(self, search):
        super().__init__(search)
        cfg = self.config
        self.controller = search.components.make_controller(self.search_space, cfg)
        self.reinforce = Reinforce(self.controller, learning_rate=cfg.controller_lr,
                                   entropy_weight=cfg.entropy_weight,
                                   baseline_decay=cfg.baseline_decay,
                                   **search.components.reinforce_kwargs)
        self.steps = make_search_steps(search, self.reinforce)
        if search.metric.name != "accuracy":
            self.accuracy_label = ("sampled architectures' validation "
                                   f"{search.metric.reward_label} (shared weights)")
        self.stat_names = ("accuracy", "entropy", "reward", "log_prob", "baseline",
                           *self.controller.stat_names)
        if search.metric.name != "accuracy":  # e.g. the perplexity the rewards stand for
            self.stat_names += (f"valid_{search.metric.name}",)

    def checkpoint_items(self) -> dict[str, Any]:
        return {"controller": self.controller, "reinforce": self.reinforce}

    def start_epoch(self, epoch: int) -> None:
        self.steps.start_epoch()

    def shared_step(self, images, labels):
        loss, accuracy, _ = self.steps.search_step(images, labels)
        return loss, accuracy

    def end_epoch(self, epoch: int) -> dict[str, float]:
        """The controller phase: REINFORCE updates on validation minibatches."""
        cfg, search = self.config, self.search
        dataset = search.data.dataset("valid", cfg.batch_size,
                                      shuffle_seed=epoch_seed(cfg.seed, epoch) + 1,
                                      repeat=True, drop_remainder=True)
        iterator = iter(search.strategy.experimental_distribute_dataset(dataset))
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
        metric = search.metric
        if metric.name != "accuracy":
            means[f"valid_{metric.name}"] = metric.from_reward(means["accuracy"])
        return means | {"baseline": float(self.reinforce.baseline)}

    def most_likely(self) -> tuple[int, ...]:
        return self.search_space.validate(self.steps.most_likely_arc().numpy())

    def derive(self, seed: int) -> tuple[tuple[int, ...], dict[str, Any]]:
        """The best of ``derive_num_samples`` sampled architectures on one validation
        batch (all scored on the same batch)."""
        return best_of_samples(self.search, self.steps.sample_arc,
                               self.config.derive_num_samples, seed)

    def write_summaries(self, epoch: int) -> tuple[int, ...]:
        return write_policy_pictures(self.controller, epoch, self.steps.sample_with_probabilities)
