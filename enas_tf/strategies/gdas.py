"""GDAS (Dong & Yang, CVPR 2019): one hard Gumbel sample of the architecture per step.

Per pass one Gumbel sample per edge of each searched cell type, shared by all cells of
that type (AutoDL-Projects ``search_model_gdas``):

```
g       = -log(-log(u)),  u ~ U(0, 1)
probs   = softmax((log_softmax(alpha) + g) / tau)
index   = argmax(probs)
hard    = one_hot(index) - stop_gradient(probs) + probs
```

so the forward pass is one-hot (only op ``index`` runs on each edge, in a
``tf.switch_case``) and the backward pass is softmax's (the straight-through
estimator). Every step is a weight step on a training batch, then an architecture step
on a validation batch (first order), each with its own sample; ``tau`` falls linearly
from ``tau_max`` to ``tau_min`` over the epochs, set once per epoch. The result is
derived as GDAS does per space: on the DARTS space the two strongest (op, input)
entries per node (``DartsSearchSpace.derive_top_pairs``; ``gdas_derivation="darts"``
takes DARTS's rule instead), the strongest op per edge on NAS-Bench-201. (AutoDL
resamples when the noise is infinite; drawing ``u`` from ``[tiny, 1)`` keeps it finite
instead.)
"""

from __future__ import annotations

import dataclasses
from typing import Any

import tensorflow as tf

from enas_tf.distribute.collectives import broadcast_from_first_replica
from enas_tf.options import need, option
from enas_tf.strategies.base import StrategyContext, register_strategy
from enas_tf.strategies.darts import (ON_RECURRENT_SPACE, ArchitectureWeightSettings,
                                      DARTSStrategy, after)
from enas_tf.supernet.mixing import SampledMixing


def gumbel_noise(rng: tf.random.Generator, shape, dtype=tf.float32) -> tf.Tensor:
    """Standard Gumbel noise ``-log(-log(u))``, always finite."""
    u = rng.uniform(shape, minval=tf.experimental.numpy.finfo(dtype.as_numpy_dtype).tiny,
                    maxval=1.0, dtype=dtype)
    return -tf.math.log(-tf.math.log(u))


def straight_through_sample(alpha: tf.Tensor, noise: tf.Tensor, tau) -> SampledMixing:
    """The hard one-hot sample of ``alpha`` (``[edges, ops]``) under Gumbel ``noise``:
    one-hot in value, ``softmax((log_softmax(alpha) + noise) / tau)`` in gradient."""
    probs = tf.nn.softmax((tf.nn.log_softmax(alpha, axis=-1) + noise) / tau, axis=-1)
    index = tf.argmax(probs, axis=-1, output_type=tf.int32)
    hard = tf.one_hot(index, alpha.shape[-1], dtype=probs.dtype)
    return SampledMixing(hard - tf.stop_gradient(probs) + probs, index)


def tau_at(epoch: int, num_epochs: int, tau_max: float, tau_min: float) -> float:
    """GDAS's temperature of ``epoch`` (0-based): linear from ``tau_max`` at the first
    epoch to ``tau_min`` at the last."""
    if num_epochs <= 1:
        return float(tau_max)
    return float(tau_max - (tau_max - tau_min) * epoch / (num_epochs - 1))


@dataclasses.dataclass
class GDASSettings(ArchitectureWeightSettings):
    """GDAS's own: the Gumbel-softmax temperature falls linearly from tau_max to tau_min."""

    tau_max: float = option(10.0, "GDAS: Gumbel-softmax temperature of the first epoch.")
    tau_min: float = option(0.1, "GDAS: temperature of the last epoch (linear in between).")
    gdas_derivation: str = option(
        "gdas", "GDAS on the DARTS space: how the genotype is read off alpha: gdas (per node "
        "the two strongest (op, input) entries, possibly of one input; AutoDL) or darts "
        "(DARTS's two strongest distinct inputs).", choices=("gdas", "darts"), exclusive=True)

    def check(self) -> None:
        need(0.0 < self.tau_min <= self.tau_max,
             f"need 0 < tau_min <= tau_max, got tau_min={self.tau_min}, "
             f"tau_max={self.tau_max}.")


# AutoDL-Projects' GDAS on the DARTS space (GDAS.py / GDAS.sh): Nesterov SGD 0.025 ->
# 0.001, weight decay 5e-4, AutoDL's search network (search_model_gdas_nasnet). On
# NAS-Bench-201 GDAS is the space's default strategy.
ON_DARTS_SPACE = dict(nesterov=True, weight_decay=5e-4, lr_max=0.025, lr_min=0.001,
                      search_network="gdas")


@register_strategy
class GDASStrategy(DARTSStrategy):
    """Gradient-based search with hard Gumbel samples, over a space with
    ``weight_shapes`` whose supernet takes ``SampledMixing`` (DARTS, DARTS-FRC, NB201).

    Example:

    ```python
    config = SearchConfig.for_space("darts", strategy="gdas", dataset="digits")
    result = Search(config, load_dataset("digits")).run()
    ```

    Args:
      context: what it sees of the search (``StrategyContext``); the loop makes it.
    """

    name = "gdas"
    summary = "one hard Gumbel sample of the architecture weights per step, only its ops run"
    supernet_input = "sampled"
    settings = GDASSettings
    # No official GDAS code searches recurrent cells (AutoDL-Projects has none): on the
    # recurrent space GDAS takes DARTS's recurrent settings (ON_RECURRENT_SPACE) with its
    # own temperature schedule and derives by DARTS's rule, but at SGD 5, not 20: sampled
    # single paths through DARTS's batch-normalised cell diverge at 20 after a few epochs
    # (the recurrent quick start: train perplexity 696 at epoch 3, 2,000 at epoch 7; random
    # cells on the same supernet the same), and learn steadily at 5 (measured; README).
    space_defaults = {"darts": ON_DARTS_SPACE, "darts_frc": ON_DARTS_SPACE,
                      "rnn": {**ON_RECURRENT_SPACE, "lr_max": 5.0, "lr_min": 5.0}}
    stat_names = ("accuracy", "entropy", "loss", "tau")
    accuracy_label = "validation accuracy of the sampled architectures (architecture steps)"
    # The supernet trains single sampled paths, so one architecture run alone is on the
    # distribution of its weights.
    judge_caveat = None

    def __init__(self, context: StrategyContext):
        super().__init__(context)
        self.tau = tf.Variable(float(self.config.tau_max), trainable=False, name="tau")
        self.rng = tf.random.Generator.from_seed(self.config.seed + 7)

    def checkpoint_items(self) -> dict[str, Any]:
        return {**super().checkpoint_items(), "gumbel_rng": self.rng}

    def start_epoch(self, epoch: int) -> None:
        super().start_epoch(epoch)
        cfg = self.config
        self.tau.assign(tau_at(epoch, cfg.num_epochs, cfg.tau_max, cfg.tau_min))

    def end_epoch(self, epoch: int) -> dict[str, float]:
        return {**super().end_epoch(epoch), "tau": float(self.tau)}

    # --- the compiled step -----------------------------------------------------------

    def _noise(self) -> dict[str, tf.Tensor]:
        """One Gumbel sample per searched cell type (drawn in cross-replica context)."""
        return {cell: gumbel_noise(self.rng, alpha.shape, alpha.dtype)
                for cell, alpha in self.alphas.items()}

    def sampled_mixing(self, noise: dict[str, tf.Tensor]) -> dict[str, SampledMixing]:
        """The straight-through samples under ``noise``, the same on every replica."""
        return {cell: straight_through_sample(alpha, broadcast_from_first_replica(noise[cell]),
                                              tf.cast(self.tau, alpha.dtype))
                for cell, alpha in self.alphas.items()}

    def _step(self, images, labels, valid_images, valid_labels):
        weight_noise = self._noise()
        loss, accuracy = self.objective.weight_step(
            self.runner(lambda: self.sampled_mixing(weight_noise)), images, labels)
        # The architecture step reads the updated weights, after the weight pass is done.
        self._run_arch_step(self._gdas_arch_step, after([loss], valid_images), valid_labels,
                            self._noise())
        return loss, accuracy

    def _gdas_arch_step(self, valid_images, valid_labels, noise):
        """One Adam step of the alphas on a fresh sample's validation CE."""
        with tf.GradientTape() as tape:
            loss, stats = self._ce(valid_images, valid_labels, self.sampled_mixing(noise),
                                   weight_gradients=False)
        grads = tape.gradient(loss, list(self.alphas.values()))
        return self._apply_arch_gradients(grads, stats)

    def most_likely(self) -> tuple[int, ...]:
        top_pairs = getattr(self.search_space, "derive_top_pairs", None)
        if top_pairs is not None and self.config.gdas_derivation == "gdas":
            return top_pairs(*self.cell_alphas())
        return super().most_likely()

    def derive(self, seed: int) -> tuple[tuple[int, ...], dict[str, Any]]:
        arc, info = super().derive(seed)
        info.pop("order")
        return arc, info | {"tau": float(self.tau)}

