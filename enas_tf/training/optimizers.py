"""The shared-weight optimizer: Nesterov SGD with a per-variable norm clip applied after
the gradients are summed over replicas.

Keras clips (``clipnorm``) each replica's gradient before the all-reduce, so with two
replicas it clips half-batch gradients and the step differs from a 1-replica step on the
same global batch. Clipping the summed gradient keeps the two identical, as the
official per-variable ``tf.clip_by_norm`` on the full-batch gradient.
"""

from __future__ import annotations

import keras
import tensorflow as tf


class ReplicaClippedSGD(keras.optimizers.SGD):
    """``keras.optimizers.SGD`` whose ``grad_bound`` clip sees the global-batch gradient."""

    def __init__(self, learning_rate: float = 0.05, momentum: float = 0.9,
                 nesterov: bool = True, grad_bound: float | None = None, **kwargs):
        super().__init__(learning_rate, momentum=momentum, nesterov=nesterov, **kwargs)
        self.grad_bound = grad_bound or None

    def _all_reduce_sum_gradients(self, grads_and_vars):
        # Keras' TensorFlow optimizer sums replica gradients here, right before the update.
        pairs = super()._all_reduce_sum_gradients(grads_and_vars)
        if not self.grad_bound:
            return pairs
        return [(None if g is None else tf.clip_by_norm(g, self.grad_bound), v)
                for g, v in pairs]

    def get_config(self):
        return {**super().get_config(), "grad_bound": self.grad_bound}


def shared_weight_sgd(learning_rate: float, momentum: float, grad_bound: float | None,
                      variables) -> ReplicaClippedSGD:
    """The run's SGD, built for ``variables`` (call inside the strategy's scope)."""
    optimizer = ReplicaClippedSGD(learning_rate, momentum=momentum, nesterov=True,
                                  grad_bound=grad_bound)
    optimizer.build(variables)
    return optimizer
