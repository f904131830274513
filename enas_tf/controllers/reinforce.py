"""REINFORCE for a controller: moving-average baseline, entropy bonus, averaged updates.

Official ENAS (``micro_controller.build_trainer``): reward = accuracy + entropy_weight *
entropy; the baseline moves first, ``b <- b - (1 - decay) * (b - reward)``; the loss is
``-log p(arc) * (reward - b)``; the gradients of ``num_aggregate`` sampled
architectures are averaged into one Adam(beta1=0, eps=1e-3) step.
"""

from __future__ import annotations

from typing import Callable, Sequence

import keras
import tensorflow as tf

from enas_tf.controllers.base import Controller


class Reinforce(tf.Module):
    """Policy-gradient trainer for ``controller``.

    Use ``sample_gradients(reward_fn)`` inside a ``tf.function`` once per sampled
    architecture, then ``apply_gradients`` with the list of gradient lists.
    """

    def __init__(self, controller: Controller, learning_rate: float = 0.0035,
                 entropy_weight: float = 1e-4, baseline_decay: float = 0.99,
                 adam_beta1: float = 0.0, adam_epsilon: float = 1e-3, name: str = "reinforce"):
        super().__init__(name=name)
        if not 0.0 <= baseline_decay < 1.0:
            raise ValueError(f"baseline_decay must be in [0, 1), got {baseline_decay}.")
        self.controller = controller
        self.entropy_weight, self.baseline_decay = entropy_weight, baseline_decay
        self.baseline = tf.Variable(0.0, trainable=False, name="baseline")
        self.optimizer = keras.optimizers.Adam(learning_rate, beta_1=adam_beta1,
                                               epsilon=adam_epsilon)
        self.optimizer.build(controller.trainable_variables)

    def sample_gradients(self, reward_fn: Callable[[tf.Tensor], tf.Tensor]):
        """Samples an architecture, scores it with ``reward_fn(arc) -> accuracy`` and
        returns ``(grads, stats)``; ``stats`` has arc, accuracy, reward, entropy,
        log_prob and the updated baseline."""
        variables = self.controller.trainable_variables
        with tf.GradientTape() as tape:
            arc, log_prob, entropy = self.controller.sample()
        accuracy = tf.cast(reward_fn(arc), tf.float32)
        reward = accuracy + self.entropy_weight * entropy
        self.baseline.assign_sub((1.0 - self.baseline_decay) * (self.baseline - reward))
        with tape:
            loss = -log_prob * tf.stop_gradient(reward - self.baseline)
        grads = tape.gradient(loss, variables)
        stats = {"arc": arc, "accuracy": accuracy, "reward": reward, "entropy": entropy,
                 "log_prob": log_prob, "baseline": tf.identity(self.baseline)}
        return grads, stats

    def apply_gradients(self, grads_per_sample: Sequence[Sequence[tf.Tensor]]) -> None:
        """Averages the per-sample gradients and takes one optimizer step."""
        count = float(len(grads_per_sample))
        mean = [tf.add_n(list(g)) / count for g in zip(*grads_per_sample)]
        self.optimizer.apply_gradients(zip(mean, self.controller.trainable_variables))
