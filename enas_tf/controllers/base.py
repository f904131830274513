"""What the training loops need from any architecture-proposing controller."""

from __future__ import annotations

import abc

import tensorflow as tf

from enas_tf.search_spaces.base import SearchSpace


class Controller(tf.Module, abc.ABC):
    """A stochastic policy over the architectures of ``search_space``.

    ``sample()`` and ``evaluate(arc)`` are traceable inside ``tf.function`` and
    differentiable with respect to ``trainable_variables``.
    """

    def __init__(self, search_space: SearchSpace, name: str | None = None):
        super().__init__(name=name)
        self.search_space = search_space

    @abc.abstractmethod
    def sample(self) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """Returns ``(arc int32[num_decisions], log_prob, entropy)`` of a fresh sample."""

    @abc.abstractmethod
    def evaluate(self, arc: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Returns ``(log_prob, entropy)`` of a given architecture under the policy."""
