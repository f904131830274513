"""What the training loops need from any architecture-proposing controller."""

from __future__ import annotations

import abc
from typing import Callable

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

    def most_likely(self) -> tf.Tensor:
        """The architecture that takes the likeliest choice at every step (greedy)."""
        return self._run(None, greedy=True)[0]

    def probabilities(self, arc) -> list[np.ndarray]:
        """Per-decision probability vectors when following ``arc`` (for tests and logs)."""
        probs = self._run(tf.constant(arc, tf.int32), return_probs=True)[3]
        return [p.numpy()[0] for p in probs]

    def sample_with_probabilities(self) -> tuple[tf.Tensor, list[tf.Tensor]]:
        """A fresh sample and, per decision, the probability vector it was drawn from."""
        arc, _, _, probs = self._run(None, return_probs=True)
        return arc, [p[0] for p in probs]

    def choice_probabilities(self, num_samples: int = 20,
                             sample_fn: Callable | None = None) -> list[np.ndarray]:
        """Each decision's marginal choice probabilities under the policy, estimated as
        the mean of its conditional probabilities along ``num_samples`` samples (what
        the TensorBoard heat-map shows). ``sample_fn``: a compiled
        ``sample_with_probabilities``, which is much faster than the eager default."""
        sample_fn = sample_fn or self.sample_with_probabilities
        totals = None
        for _ in range(num_samples):
            probs = [p.numpy() for p in sample_fn()[1]]
            totals = probs if totals is None else [t + p for t, p in zip(totals, probs)]
        return [t / num_samples for t in totals]

    @abc.abstractmethod
    def _run(self, forced_arc, return_probs: bool = False, greedy: bool = False):
        """Samples (``forced_arc`` None), takes the likeliest choices (``greedy``) or
        scores ``forced_arc``; returns ``(arc, log_prob, entropy)``, plus the list of
        probability vectors in the flat arc order if ``return_probs``."""

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

    def _choose(self, logits, forced, greedy: bool = False):
        """Samples (or takes ``forced``, or the likeliest if ``greedy``) one choice;
        returns it, its -log p, its entropy and the probability vector."""
        if forced is not None:
            choice = forced
        elif greedy:
            choice = tf.argmax(logits[0], output_type=tf.int32)
        else:
            choice = tf.random.stateless_categorical(
                logits, 1, seed=self.rng.make_seeds(1)[:, 0], dtype=tf.int32)[0, 0]
        neg_log_prob = tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=tf.reshape(choice, [1]), logits=logits)[0]
        probs = tf.nn.softmax(logits)
        entropy = tf.stop_gradient(-tf.reduce_sum(probs * tf.nn.log_softmax(logits)))
        return choice, neg_log_prob, entropy, probs
