"""Random search with weight sharing (Li & Talwalkar, UAI 2019): the baseline a search
strategy has to beat on the same supernet and budget.

Every shared-weight step trains a uniformly random architecture, sampled inside the
compiled step (one dispatch, the same architecture on every replica). After each epoch
``controller_train_steps`` random architectures are scored on validation minibatches,
the same number of evaluations the ENAS controller phase spends, and the best so far is
kept. The result is the best of ``derive_num_samples`` random architectures on one
validation batch, as ENAS derives from its controller's samples.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from enas_tf.strategies.base import (SearchStrategy, StrategyContext, best_of_samples,
                                     make_search_steps, register_strategy)
from enas_tf.training.progress import Progress
from enas_tf.training.run_dir import epoch_seed


@register_strategy
class RandomStrategy(SearchStrategy):
    """Uniformly random architectures over a space whose supernet takes ``arc=``."""

    name = "random"
    summary = "uniformly random architectures on the shared weights, the baseline"
    stats_prefix = "random"
    stat_names = ("accuracy", "entropy", "best_accuracy")
    accuracy_label = "random architectures' validation accuracy (shared weights)"

    def __init__(self, context: StrategyContext):
        super().__init__(context)
        cfg = self.config
        self.steps = make_search_steps(context, None)
        self.rng = tf.random.Generator.from_seed(cfg.seed)
        self.num_choices = tf.constant([d.num_choices for d in self.search_space.decisions],
                                       tf.float32)
        self.sample_arc = tf.function(self._sample_arc)
        self.step = tf.function(lambda images, labels: self.steps._train_step(
            images, labels, self._sample_arc()), jit_compile=cfg.jit_compile,
            input_signature=self.steps.batch_signature)
        if context.metric.name != "accuracy":
            self.accuracy_label = ("random architectures' validation "
                                   f"{context.metric.reward_label} (shared weights)")
        # The best architecture scored so far and its minibatch accuracy (checkpointed).
        self.best_arc = tf.Variable(tf.zeros([self.search_space.num_decisions], tf.int32),
                                    trainable=False, name="best_arc")
        self.best_accuracy = tf.Variable(-1.0, trainable=False, name="best_accuracy")

    def _sample_arc(self) -> tf.Tensor:
        """One uniformly random architecture: each decision's choice independently."""
        u = self.rng.uniform([self.search_space.num_decisions])
        return tf.minimum(tf.cast(tf.floor(u * self.num_choices), tf.int32),
                          tf.cast(self.num_choices, tf.int32) - 1)

    def checkpoint_items(self) -> dict[str, Any]:
        return {"random_rng": self.rng, "best_arc": self.best_arc,
                "best_accuracy": self.best_accuracy}

    def start_epoch(self, epoch: int) -> None:
        self.steps.start_epoch()

    def shared_step(self, images, labels):
        return self.step(images, labels)

    def _score_random(self, num: int, seed: int, what: str) -> list[tuple[float, np.ndarray]]:
        """``num`` random architectures, each scored on its own validation minibatch by
        the metric's reward (accuracy, or ``80 / perplexity``)."""
        cfg, context = self.config, self.context
        dataset = context.data.dataset("valid", cfg.batch_size, shuffle_seed=seed, repeat=True,
                                      drop_remainder=True)
        batches = iter(context.distribution.experimental_distribute_dataset(dataset))
        progress = Progress(num, cfg.verbose, what, unit="architecture")
        scored = []
        for i in range(num):
            arc = self.sample_arc()
            sums = [float(v) for v in context.count_correct(*next(batches), arc)]
            scored.append((float(context.metric.reward(*sums)), arc.numpy()))
            progress.update(i + 1, [("best minibatch reward", max(s for s, _ in scored))])
        return scored

    def end_epoch(self, epoch: int) -> dict[str, float]:
        scored = self._score_random(self.config.controller_train_steps,
                                    epoch_seed(self.config.seed, epoch) + 1,
                                    f"epoch {epoch + 1}/{self.config.num_epochs} random")
        accuracy, arc = max(scored, key=lambda item: item[0])
        if accuracy > float(self.best_accuracy):
            self.best_accuracy.assign(accuracy)
            self.best_arc.assign(arc)
        entropy = float(np.sum(np.log([d.num_choices for d in self.search_space.decisions])))
        return {"accuracy": float(np.mean([s for s, _ in scored])), "entropy": entropy,
                "best_accuracy": float(self.best_accuracy)}

    def most_likely(self) -> tuple[int, ...]:
        """No policy to believe in: the best architecture scored so far."""
        return self.search_space.validate(self.best_arc.numpy())

    def derive(self, seed: int) -> tuple[tuple[int, ...], dict[str, Any]]:
        """The best of ``derive_num_samples`` random architectures on one validation
        batch (all scored on the same batch)."""
        return best_of_samples(self.context, self.sample_arc, self.config.derive_num_samples,
                               seed)

    def write_summaries(self, epoch: int) -> tuple[int, ...]:
        from enas_tf.search_spaces.pictures import summary_image

        best = self.most_likely()
        tf.summary.image("random/best_architecture", summary_image(
            self.search_space.draw(best, f"best random architecture after epoch {epoch}")))
        tf.summary.text("random/best_architecture_string", self.search_space.to_string(best))
        return best
