"""What the training loops need from any architecture-proposing controller."""

from __future__ import annotations

import abc

import numpy as np
import tensorflow as tf

from enas_tf.search_spaces.base import SearchSpace


class Controller(tf.Module, abc.ABC):
    """A stochastic policy over the architectures of ``search_space``.

    ``sample()`` and ``evaluate(arc)`` are traceable inside ``tf.function`` and
    differentiable with respect to ``trainable_variables``. The LSTM helpers below serve
    subclasses that define ``lstm_kernel``, ``temperature`` and ``rng``.
    """

    def __init__(self, search_space: SearchSpace, name: str | None = None):
        super().__init__(name=name)
        self.search_space = search_space

    def sample(self) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """Returns ``(arc int32[num_decisions], log_prob, entropy)`` of a fresh sample."""
        return self._run(None)[:3]

    def evaluate(self, arc) -> tuple[tf.Tensor, tf.Tensor]:
        """Returns ``(log_prob, entropy)`` of a given architecture under the policy."""
        _, log_prob, entropy = self._run(tf.cast(tf.convert_to_tensor(arc), tf.int32))[:3]
        return log_prob, entropy

    def probabilities(self, arc) -> list[np.ndarray]:
        """Per-decision probability vectors when following ``arc`` (for tests and logs)."""
        probs = self._run(tf.constant(arc, tf.int32), return_probs=True)[3]
        return [p.numpy()[0] for p in probs]

    @abc.abstractmethod
    def _run(self, forced_arc, return_probs: bool = False):
        """Samples (``forced_arc`` None) or scores ``forced_arc``; returns ``(arc,
        log_prob, entropy)``, plus the list of probability vectors if ``return_probs``."""

    # --- LSTM policy helpers -----------------------------------------------------

    def _lstm(self, x, c, h):
        i, f, o, g = tf.split(tf.matmul(tf.concat([x, h], axis=1), self.lstm_kernel), 4, axis=1)
        c = tf.sigmoid(i) * tf.tanh(g) + tf.sigmoid(f) * c
        return c, tf.sigmoid(o) * tf.tanh(c)

    def _shape_logits(self, logits, tanh_constant):
        if self.temperature is not None:
            logits = logits / self.temperature
        if tanh_constant is not None:
            logits = tanh_constant * tf.tanh(logits)
        return logits

    def _choose(self, logits, forced):
        """Samples (or takes ``forced``) one choice; returns it, its -log p and entropy."""
        if forced is None:
            choice = tf.random.stateless_categorical(
                logits, 1, seed=self.rng.make_seeds(1)[:, 0], dtype=tf.int32)[0, 0]
        else:
            choice = forced
        neg_log_prob = tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=tf.reshape(choice, [1]), logits=logits)[0]
        probs = tf.nn.softmax(logits)
        entropy = tf.stop_gradient(-tf.reduce_sum(probs * tf.nn.log_softmax(logits)))
        return choice, neg_log_prob, entropy, probs
