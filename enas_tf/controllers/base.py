"""What the training loops need from any architecture-proposing controller."""

from __future__ import annotations

import abc
from typing import Callable, NamedTuple

import numpy as np
import tensorflow as tf

from enas_tf.search_spaces.base import SearchSpace


class PolicyRun(NamedTuple):
    """One pass of a controller over the decisions.

    ``penalty`` is added to the REINFORCE loss (the macro controller's skip penalty);
    ``stats`` are scalars to log, named by the controller's ``stat_names``; ``probs`` is
    the probability vector of every decision (``[1, choices]`` each) when asked for.
    """

    arc: tf.Tensor
    log_prob: tf.Tensor
    entropy: tf.Tensor
    probs: list | None = None
    penalty: tf.Tensor | float = 0.0
    stats: dict | None = None


class Controller(tf.Module, abc.ABC):
    """A stochastic policy over the architectures of ``search_space``.

    ``sample()`` and ``evaluate(arc)`` are traceable inside ``tf.function`` and
    differentiable with respect to ``trainable_variables``. The LSTM helpers below serve
    subclasses that define ``lstm_kernel``, ``temperature`` and ``rng``.
    """

    # Names of the extra scalars in ``PolicyRun.stats`` (logged by the search).
    stat_names: tuple[str, ...] = ()

    def __init__(self, search_space: SearchSpace, name: str | None = None, *,
                 lstm_size: int | None = None, tanh_constant: float | None = None,
                 temperature: float | None = None, seed: int = 0, init_range: float = 0.1):
        """With ``lstm_size``: the set-up every ENAS LSTM controller shares, the official
        uniform initialiser in ``[-init_range, init_range]`` (``weight``), the LSTM kernel,
        the start embedding ``g_emb`` and the sampling generator ``rng``."""
        super().__init__(name=name)
        self.search_space = search_space
        if lstm_size is None:
            return
        self.lstm_size, self.tanh_constant, self.temperature = lstm_size, tanh_constant, temperature
        self._init = tf.random_uniform_initializer(-init_range, init_range, seed=seed)
        with self.name_scope:
            self.lstm_kernel = self.weight([2 * lstm_size, 4 * lstm_size], "lstm_kernel")
            self.g_emb = self.weight([1, lstm_size], "g_emb")
            self.rng = tf.random.Generator.from_seed(seed)

    def weight(self, shape, name: str) -> tf.Variable:
        """A new variable from the controller's initialiser (call in ``name_scope``)."""
        return tf.Variable(self._init(shape), name=name)

    def sample(self) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """Returns ``(arc int32[num_decisions], log_prob, entropy)`` of a fresh sample."""
        return self._run(None)[:3]

    def sample_run(self) -> PolicyRun:
        """A fresh sample with everything REINFORCE needs (penalty, stats)."""
        return self._run(None)

    def evaluate(self, arc) -> tuple[tf.Tensor, tf.Tensor]:
        """Returns ``(log_prob, entropy)`` of a given architecture under the policy."""
        return self.evaluate_run(arc)[1:3]

    def evaluate_run(self, arc) -> PolicyRun:
        """Like ``sample_run`` for a given architecture."""
        return self._run(tf.cast(tf.convert_to_tensor(arc), tf.int32))

    def most_likely(self) -> tf.Tensor:
        """The architecture that takes the likeliest choice at every step (greedy)."""
        return self._run(None, greedy=True).arc

    def probabilities(self, arc) -> list[np.ndarray]:
        """Per-decision probability vectors when following ``arc`` (for tests and logs)."""
        probs = self._run(tf.constant(arc, tf.int32), return_probs=True).probs
        return [p.numpy()[0] for p in probs]

    def sample_with_probabilities(self) -> tuple[tf.Tensor, list[tf.Tensor]]:
        """A fresh sample and, per decision, the probability vector it was drawn from."""
        run = self._run(None, return_probs=True)
        return run.arc, [p[0] for p in run.probs]

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
    def _run(self, forced_arc, return_probs: bool = False, greedy: bool = False) -> PolicyRun:
        """Samples (``forced_arc`` None), takes the likeliest choices (``greedy``) or
        scores ``forced_arc``; the probability vectors are in the flat arc order and
        filled only if ``return_probs``."""

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

    def _pick(self, logits, forced, greedy: bool):
        """One choice per row of ``logits`` ``[rows, choices]``: ``forced``, the
        likeliest (``greedy``) or a sample from the checkpointable RNG."""
        if forced is not None:
            return forced
        if greedy:
            return tf.argmax(logits, axis=-1, output_type=tf.int32)
        return tf.random.stateless_categorical(
            logits, 1, seed=self.rng.make_seeds(1)[:, 0], dtype=tf.int32)[:, 0]

    def _choose(self, logits, forced, greedy: bool = False):
        """Samples (or takes ``forced``, or the likeliest if ``greedy``) one choice;
        returns it, its -log p, its entropy and the probability vector."""
        choice = forced if forced is not None else self._pick(logits, None, greedy)[0]
        neg_log_prob = tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=tf.reshape(choice, [1]), logits=logits)[0]
        probs = tf.nn.softmax(logits)
        entropy = tf.stop_gradient(-tf.reduce_sum(probs * tf.nn.log_softmax(logits)))
        return choice, neg_log_prob, entropy, probs

    def _decide(self, logits, forced, greedy: bool):
        """Choices for the rows of ``logits``, their summed -log p and the entropy as the
        official macro and PTB controllers take it: ``-p log p`` of the chosen choices
        only (not the whole softmax's entropy)."""
        choices = self._pick(logits, forced, greedy)
        neg_log_probs = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=choices,
                                                                       logits=logits)
        entropy = tf.stop_gradient(tf.reduce_sum(neg_log_probs * tf.exp(-neg_log_probs)))
        return choices, tf.reduce_sum(neg_log_probs), entropy
