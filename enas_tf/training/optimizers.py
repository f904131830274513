"""Optimizers that behave exactly as the reference code's, also with several replicas.

``ReplicaClippedSGD`` is momentum SGD written as TF1's ``MomentumOptimizer`` (official
ENAS) and PyTorch's ``SGD`` (DARTS) write it: ``buf = mu * buf + g``, ``w -= lr * buf``
(Nesterov: ``w -= lr * (g + mu * buf)``). Keras' SGD keeps ``-lr * buf`` instead, which
differs whenever the learning rate changes, and DARTS's second-order step reads the
buffer itself. The gradient clip (per variable, as official ENAS, or by the global norm,
as DARTS) applies to the gradient summed over replicas: Keras clips each replica's share
before the all-reduce, so with two replicas it would clip half-batch gradients and the
step would differ from the 1-replica step on the same global batch. ``weight_decay`` is
PyTorch's (coupled: ``g += wd * w`` after the clip), not Keras' decoupled one.

``CoupledAdam`` is Keras' Adam with PyTorch's coupled weight decay (DARTS's architecture
optimizer).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from enas_tf.training.settings import CLIP_MODES



def _clip(pairs, grad_bound: float | None, mode: str):
    if not grad_bound:
        return pairs
    if mode == "per_variable":
        return [(None if g is None else tf.clip_by_norm(g, grad_bound), v) for g, v in pairs]
    present = [g for g, _ in pairs if g is not None]
    clipped, _ = tf.clip_by_global_norm(present, grad_bound)
    clipped = iter(clipped)
    return [(None if g is None else next(clipped), v) for g, v in pairs]


class ReplicaClippedSGD(keras.optimizers.Optimizer):
    """Momentum SGD in the TF1 / PyTorch form, clipped after the replica sum.

    Args:
      learning_rate, momentum: as usual; ``nesterov``: Nesterov momentum (official ENAS).
      grad_bound: clip norm; None or 0 disables.
      clip: ``"per_variable"`` (official ENAS) or ``"global"`` (DARTS).
      weight_decay: coupled L2 (PyTorch's ``weight_decay``), added after the clip.
    """

    def __init__(self, learning_rate: float = 0.05, momentum: float = 0.9,
                 nesterov: bool = True, grad_bound: float | None = None,
                 clip: str = "per_variable", weight_decay: float = 0.0, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        if clip not in CLIP_MODES:
            raise ValueError(f"clip must be one of {', '.join(CLIP_MODES)}, got {clip!r}.")
        self.momentum, self.nesterov = float(momentum), bool(nesterov)
        self.grad_bound, self.clip = grad_bound or None, clip
        self.coupled_weight_decay = float(weight_decay)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.buffers = self.add_optimizer_variables(variables, "momentum")

    def momentum_buffer(self, variable):
        """The buffer ``buf`` of ``variable`` (DARTS's virtual step reads it)."""
        return self.buffers[self._get_variable_index(variable)]

    def _all_reduce_sum_gradients(self, grads_and_vars):
        # Keras' TensorFlow optimizer sums replica gradients here, right before the update.
        return _clip(super()._all_reduce_sum_gradients(grads_and_vars), self.grad_bound,
                     self.clip)

    def update_step(self, gradient, variable, learning_rate):
        learning_rate = tf.cast(learning_rate, variable.dtype)
        gradient = tf.cast(gradient, variable.dtype)
        if (isinstance(gradient, tf.IndexedSlices) and not self.momentum
                and not self.coupled_weight_decay):
            # Plain SGD on gathered rows (the ENAS recurrent supernet's kernels): update
            # only those rows, not the whole stacked variable.
            self.assign_sub(variable, tf.IndexedSlices(learning_rate * gradient.values,
                                                       gradient.indices, gradient.dense_shape))
            return
        if self.coupled_weight_decay:
            gradient = gradient + self.coupled_weight_decay * variable
        buffer = self.buffers[self._get_variable_index(variable)]
        self.assign(buffer, self.momentum * buffer + gradient)
        step = gradient + self.momentum * buffer if self.nesterov else buffer
        self.assign_sub(variable, learning_rate * step)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov,
                "grad_bound": self.grad_bound, "clip": self.clip,
                "weight_decay": self.coupled_weight_decay}


class CoupledAdam(keras.optimizers.Adam):
    """Adam with PyTorch's coupled weight decay (``g += wd * w`` before the moments),
    applied after the replica sum."""

    def __init__(self, learning_rate: float = 3e-4, weight_decay: float = 0.0, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.coupled_weight_decay = float(weight_decay)

    def update_step(self, gradient, variable, learning_rate):
        if self.coupled_weight_decay:
            gradient = tf.cast(gradient, variable.dtype) + self.coupled_weight_decay * variable
        return super().update_step(gradient, variable, learning_rate)

    def get_config(self):
        return {**super().get_config(), "weight_decay": self.coupled_weight_decay}


def shared_weight_sgd(learning_rate: float, momentum: float, grad_bound: float | None,
                      variables, nesterov: bool = True, clip: str = "per_variable",
                      weight_decay: float = 0.0) -> ReplicaClippedSGD:
    """The run's SGD, built for ``variables`` (call inside the strategy's scope)."""
    optimizer = ReplicaClippedSGD(learning_rate, momentum=momentum, nesterov=nesterov,
                                  grad_bound=grad_bound, clip=clip, weight_decay=weight_decay)
    optimizer.build(variables)
    return optimizer
