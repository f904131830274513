"""REINFORCE for a controller: moving-average baseline, entropy bonus, averaged updates.

Official ENAS (``micro_controller.build_trainer``): reward = accuracy + entropy_weight *
entropy; the baseline moves first, ``b <- b - (1 - decay) * (b - reward)``; the loss is
``-log p(arc) * (reward - b)``, plus the controller's own penalty (the macro skip
penalty); the gradients of ``num_aggregate`` sampled architectures are averaged into
one Adam(beta1=0, eps=1e-3) step.
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

    Args:
      controller: the policy (any ``Controller``).
      learning_rate: Adam's (official CIFAR-10: 0.0035).
      entropy_weight: weight of the entropy bonus in the reward.
      baseline_decay: of the reward's moving-average baseline.
      adam_beta1, adam_epsilon: Adam's (official: 0.0 and 1e-3; enas_lm: TF's defaults).

    Example:

    ```python
    reinforce = Reinforce(MicroController(MicroSearchSpace()))
    grads, stats = reinforce.sample_gradients(lambda arc: accuracy_of(arc))
    reinforce.apply_gradients([grads])
    ```
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
        with tf.GradientTape() as tape:
            run = self.controller.sample_run()
        return self._policy_gradients(tape, run, reward_fn(run.arc))

    def gradients_for(self, arc, accuracy):
        """Like ``sample_gradients`` for an architecture sampled earlier and scored since
        (e.g. a keras-tuner trial): its log-probability under the current policy."""
        with tf.GradientTape() as tape:
            run = self.controller.evaluate_run(arc)
        return self._policy_gradients(tape, run._replace(arc=tf.convert_to_tensor(arc)),
                                      accuracy)

    def _policy_gradients(self, tape, run, accuracy):
        accuracy = tf.cast(accuracy, tf.float32)
        reward = accuracy + self.entropy_weight * run.entropy
        self.baseline.assign_sub((1.0 - self.baseline_decay) * (self.baseline - reward))
        with tape:
            loss = -run.log_prob * tf.stop_gradient(reward - self.baseline) + run.penalty
        grads = tape.gradient(loss, self.controller.trainable_variables)
        stats = {"arc": run.arc, "accuracy": accuracy, "reward": reward,
                 "entropy": run.entropy, "log_prob": run.log_prob,
                 "baseline": tf.identity(self.baseline), **(run.stats or {})}
        return grads, stats

    def apply_gradients(self, grads_per_sample: Sequence[Sequence[tf.Tensor]]) -> None:
        """Averages the per-sample gradients and takes one optimizer step."""
        count = float(len(grads_per_sample))
        pairs = []
        for variable, grads in zip(self.controller.trainable_variables, zip(*grads_per_sample)):
            grads = [tf.convert_to_tensor(g) for g in grads if g is not None]
            if grads:  # e.g. the last decision's embedding feeds nothing
                pairs.append((tf.add_n(grads) / count, variable))
        self.optimizer.apply_gradients(pairs)

    def update(self, reward_fn: Callable[[tf.Tensor], tf.Tensor], num_samples: int):
        """One whole update inside a ``tf.function``: ``num_samples`` architectures, each
        scored by ``reward_fn(arc)`` (which may read the next batch of an iterator) in a
        graph loop, their gradients averaged into one optimizer step. Returns the mean
        stats (accuracy, reward, entropy, log_prob and the controller's ``stat_names``)
        and the baseline.

        Same result as ``num_samples`` calls of ``sample_gradients`` then
        ``apply_gradients``; a variable that gets no gradient gets a zero one, which
        leaves it unchanged under Adam with beta1 = 0 as the official settings use.
        """
        variables = self.controller.trainable_variables
        names = ("accuracy", "reward", "entropy", "log_prob") + self.controller.stat_names

        def sample_and_add(i, grad_sums, stat_sums):
            grads, stats = self.sample_gradients(reward_fn)
            grad_sums = [total if g is None else total + tf.convert_to_tensor(g)
                         for total, g in zip(grad_sums, grads)]
            stat_sums = [total + tf.cast(stats[name], tf.float32)
                         for total, name in zip(stat_sums, names)]
            return i + 1, grad_sums, stat_sums

        # An explicit graph loop (not a Python loop left to AutoGraph), so the update is
        # one loop whatever function, lambda or notebook cell calls it.
        _, grad_sums, stat_sums = tf.while_loop(
            lambda i, *_: i < num_samples, sample_and_add,
            (tf.constant(0), [tf.zeros_like(v) for v in variables],
             [tf.constant(0.0) for _ in names]))
        count = tf.cast(num_samples, tf.float32)
        self.optimizer.apply_gradients(
            [(total / count, v) for total, v in zip(grad_sums, variables)])
        means = {name: total / count for name, total in zip(names, stat_sums)}
        return means | {"baseline": tf.identity(self.baseline)}
