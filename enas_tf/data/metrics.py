"""What the loops measure an architecture by: accuracy (images) or perplexity (text).

A metric turns a batch's logits into two additive sums (correct predictions and
examples; summed negative log-likelihood and tokens), so batches and replicas add up
exactly; ``value`` is the figure people read, ``reward`` the higher-is-better score
that REINFORCE, derivation and the comparison with random architectures use (ENAS:
the accuracy; enas_lm: ``80 / perplexity``). The data decide: ``data.metric``.
"""

from __future__ import annotations

import dataclasses
import math

import tensorflow as tf


@dataclasses.dataclass(frozen=True)
class Metric:
    """Base of ``ACCURACY`` and ``PERPLEXITY``.

    Attributes:
      name: ``accuracy`` or ``perplexity`` (result keys are ``valid_<name>``).
      plural: for lists of values.
      higher_is_better: of ``value``.
      reward_label: what ``reward`` is, in words.
    """

    name: str
    plural: str
    higher_is_better: bool
    reward_label: str

    def batch_sums(self, labels, logits):
        raise NotImplementedError

    def value(self, total, count):
        raise NotImplementedError

    def reward(self, total, count):
        raise NotImplementedError

    def from_reward(self, reward: float) -> float:
        """The value whose reward is ``reward`` (the mean reward of several batches
        gives their harmonic-mean perplexity)."""
        raise NotImplementedError

    def better(self, a: float, b: float) -> bool:
        """Whether value ``a`` is better than ``b``."""
        return a > b if self.higher_is_better else a < b


class _Accuracy(Metric):
    def batch_sums(self, labels, logits):
        predictions = tf.argmax(logits, axis=-1, output_type=tf.int32)
        correct = tf.cast(tf.equal(predictions, tf.cast(labels, tf.int32)), tf.float32)
        return tf.reduce_sum(correct), tf.cast(tf.size(labels), tf.float32)

    def value(self, total, count):
        return total / count

    def reward(self, total, count):
        return total / count

    def from_reward(self, reward: float) -> float:
        return reward


class _Perplexity(Metric):
    REWARD_CONSTANT = 80.0  # enas_lm: reward = 80 / validation perplexity

    def batch_sums(self, labels, logits):
        nll = tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=tf.cast(labels, tf.int32), logits=logits)
        return tf.reduce_sum(nll), tf.cast(tf.size(labels), tf.float32)

    def value(self, total, count):
        if isinstance(total, (int, float)):
            return math.exp(min(total / count, 700.0))
        return tf.exp(total / count)

    def reward(self, total, count):
        return self.REWARD_CONSTANT / self.value(total, count)

    def from_reward(self, reward: float) -> float:
        return self.REWARD_CONSTANT / max(reward, 1e-12)


ACCURACY = _Accuracy("accuracy", "accuracies", True, "accuracy")
PERPLEXITY = _Perplexity("perplexity", "perplexities", False, "reward (80 / perplexity)")
