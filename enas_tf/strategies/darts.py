"""DARTS (Liu et al., ICLR 2019): architecture weights learned by gradient descent.

Every shared-weight step first updates the architecture weights ``alpha`` (one
``[14, 8]`` tensor per cell type, initialised ``1e-3 * randn``) on a validation batch
with Adam (lr 3e-4, betas (0.5, 0.999), coupled weight decay 1e-3), then the network
weights on a training batch with the mixing weights ``softmax(alpha)``
(``train_search.py``); ``arch_step="after"`` swaps the two, as AutoDL's DARTS-V1 does
on NAS-Bench-201. First order: ``grad_alpha L_val(w, alpha)``. Second order
(``unrolled``, ``architect.py``): with ``xi`` the weights' learning rate,

    w'  = w - xi * (momentum * buf + grad_w L_train(w) + weight_decay * w)
    g   = grad_alpha L_val(w', alpha)
          - xi * (grad_alpha L_train(w+) - grad_alpha L_train(w-)) / (2 eps)

where ``v = grad_w' L_val(w', alpha)``, ``w+- = w +- eps * v`` and
``eps = 0.01 / ||v||`` (a finite-difference Hessian-vector product). The network is
evaluated at ``w'`` and ``w+-`` through ``keras.StatelessScope``, so the weights are
never overwritten. Under several replicas every gradient is the global-batch one.
The result is the genotype of the final weights (the space's ``derive``).

What a batch means is the objective's (``enas_tf.strategies.objectives``): a classifier's
cross-entropy over images, or a language model's over BPTT segments with the hidden
state carried (the recurrent space, quark0/darts ``rnn/``; there the virtual step clips
as ``rnn/architect.py`` does).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from absl import logging

from enas_tf.search_spaces.darts_pictures import draw_alphas
from enas_tf.search_spaces.pictures import summary_image
from enas_tf.options import Settings, need, option
from enas_tf.strategies.base import (SearchStrategy, StrategyContext, register_strategy,
                                     softmax_entropy)
from enas_tf.strategies.objectives import make_objective
from enas_tf.training.optimizers import CoupledAdam
from enas_tf.training.steps import sum_replicas

HESSIAN_RADIUS = 0.01  # eps = 0.01 / ||v|| (architect.py)


@dataclasses.dataclass
class ArchitectureWeightSettings(Settings):
    """The architecture weights' Adam (DARTS's ``architect.py``; GDAS's too)."""

    arch_lr: float = option(3e-4, "DARTS, GDAS: Adam learning rate of the architecture "
                            "weights.", minimum=0)
    arch_weight_decay: float = option(1e-3, "DARTS, GDAS: coupled weight decay of the "
                                      "architecture weights.", minimum=0)
    arch_beta1: float = option(0.5, "DARTS, GDAS: Adam beta1 of the architecture weights.",
                               within="[0, 1)")
    arch_beta2: float = option(0.999, "DARTS, GDAS: Adam beta2 of the architecture weights.",
                               within="[0, 1)")

    MODES = ("search",)


@dataclasses.dataclass
class DARTSSettings(ArchitectureWeightSettings):
    """DARTS's own: the second-order gradient, and where the architecture step runs."""

    unrolled: bool = option(
        False, "DARTS: second-order architecture gradient (a virtual weight step and a "
        "finite-difference Hessian-vector product); off: first order.",
        exclusive="unrolled (the second-order gradient)")
    arch_step: str = option(
        "before", "DARTS: the architecture step of each step runs before the weight step "
        "(quark0/darts) or after it, on the updated weights (AutoDL's DARTS-V1 on "
        "NAS-Bench-201, this space's default); second order needs before.",
        choices=("before", "after"), exclusive=True)

    def check(self) -> None:
        need(not (self.unrolled and self.arch_step == "after"),
             "unrolled (the second-order gradient) takes its virtual step from the weights "
             "before the weight step: give --arch_step=before.")


# quark0/darts rnn/train_search.py and architect.py on the recurrent space: DARTS's
# supernet, 8 nodes, embedding = hidden 300, batch 256, 50 epochs of SGD 20 (scaled by
# the segment length), global clip 0.25, coupled weight decay 5e-7 on every weight, drop
# rates output 0.75 / hidden 0.25 / cell input 0.75 / embedding 0.2 / words 0, slowness
# 1e-3, init U(+-0.04), a softmax bias; the alphas' Adam at 3e-3 with PyTorch's default
# betas and weight decay 1e-3.
ON_RECURRENT_SPACE = dict(
    rnn_supernet="darts", num_nodes=8, hidden_size=300, batch_size=256, num_epochs=50,
    lr_max=20.0, lr_min=20.0, grad_bound=0.25, grad_clip="global", weight_decay=5e-7,
    l2_reg=0.0, drop_output=0.75, drop_hidden=0.25, drop_cell_input=0.75,
    drop_embedding=0.2, drop_word=0.0, activation_reg=0.0, slowness_reg=1e-3,
    init_range=0.04, softmax_bias=True, arch_lr=3e-3, arch_weight_decay=1e-3,
    arch_beta1=0.9, arch_beta2=0.999)


@register_strategy
class DARTSStrategy(SearchStrategy):
    """Differentiable architecture search over a space with ``weight_shapes``.

    Args:
      context: what it sees of the search (``StrategyContext``); the loop makes it.

    Example:

    ```python
    config = SearchConfig.for_space("darts", dataset="digits", unrolled=True)
    result = Search(config, load_dataset("digits")).run()   # strategy="darts"
    result["genotype"]
    ```
    """

    name = "darts"
    summary = "softmax-weighted architecture weights learned by gradient on the validation split"
    supernet_input = "mixing"
    settings = DARTSSettings
    # AutoDL-Projects' DARTS-V1 on NAS-Bench-201: 50 epochs, one cosine period, the
    # weight step before the architecture step (exps/NAS-Bench-201-algos/DARTS-V1.py).
    space_defaults = {"nb201": dict(num_epochs=50, arch_step="after"),
                      "rnn": ON_RECURRENT_SPACE}
    stats_prefix = "arch"
    stat_names = ("accuracy", "entropy", "loss")
    accuracy_label = "validation accuracy of the weighted supernet (architecture steps)"
    judge_caveat = ("DARTS trains the softmax mixture, not single genotypes: a genotype run "
                    "alone on these weights is off the distribution they were trained on "
                    "(the discretisation gap), so this does not rank genotypes; retrain to "
                    "compare")

    def __init__(self, context: StrategyContext):
        super().__init__(context)
        cfg = self.config
        init = tf.random_normal_initializer(stddev=1e-3, seed=cfg.seed)
        with context.distribution.scope():  # mirrored: every replica steps them alike
            self.alphas = {cell: tf.Variable(init(shape, dtype=keras.config.floatx()),
                                             name=f"alpha_{cell}")
                           for cell, shape in self.search_space.weight_shapes.items()}
            self.arch_optimizer = CoupledAdam(cfg.arch_lr, weight_decay=cfg.arch_weight_decay,
                                              beta_1=cfg.arch_beta1, beta_2=cfg.arch_beta2,
                                              epsilon=1e-8)
            self.arch_optimizer.build(list(self.alphas.values()))
        # Images or text: how a batch becomes a loss and a weight step.
        self.objective = make_objective(context)
        if context.metric.name != "accuracy":
            self.stat_names = (*self.stat_names, f"valid_{context.metric.name}")
            self.accuracy_label = self.accuracy_label.replace(
                "accuracy", context.metric.reward_label, 1)
        # Sums over the epoch's architecture steps (summed CE, metric total, count).
        self.valid_sums = tf.Variable(tf.zeros([3]), trainable=False, name="valid_sums")
        self.step = tf.function(self._step, jit_compile=cfg.jit_compile,
                                input_signature=self.objective.step_signature)
        self.valid_batches = None

    def checkpoint_items(self) -> dict[str, Any]:
        return {"alphas": self.alphas, "arch_optimizer": self.arch_optimizer}

    # --- the epoch -----------------------------------------------------------------

    def start_epoch(self, epoch: int) -> None:
        # Images: the validation half of DARTS's training split, augmented like the
        # training half; text: consecutive validation segments, the state carried.
        self.valid_batches = self.objective.start_epoch(epoch)
        self.valid_sums.assign(tf.zeros([3]))

    def shared_step(self, images, labels):
        valid_images, valid_labels = next(self.valid_batches)
        return self.step(images, labels, valid_images, valid_labels)

    def end_epoch(self, epoch: int) -> dict[str, float]:
        loss, total, count = (float(v) for v in self.valid_sums.read_value())
        alphas = {cell: alpha.numpy() for cell, alpha in self.alphas.items()}
        metric, count = self.context.metric, max(count, 1.0)
        stats = {"accuracy": float(metric.reward(total, count)), "loss": loss / count,
                 "entropy": sum(softmax_entropy(a) for a in alphas.values())}
        if metric.name != "accuracy":
            stats[f"valid_{metric.name}"] = float(metric.value(total, count))
        return stats

    # --- the compiled step -----------------------------------------------------------

    def mixing(self) -> dict[str, tf.Tensor]:
        """The supernet's mixing weights, ``softmax(alpha)`` per edge."""
        return {cell: tf.nn.softmax(alpha, axis=-1) for cell, alpha in self.alphas.items()}

    def runner(self, mixing_fn, weight_gradients: bool = True):
        """``run(inputs, **kwargs)``: the supernet in training mode under ``mixing_fn()``;
        ``weight_gradients=False`` for a pass differentiated only for the alphas (the
        supernet then computes no kernel gradients)."""
        supernet = self.context.supernet
        return lambda x, **kwargs: supernet(x, mixing_fn(), training=True,
                                            weight_gradients=weight_gradients, **kwargs)

    def _ce(self, images, labels, mixing=None, stream: str = "valid",
            weight_gradients: bool = True):
        """This replica's share of the mean CE of the supernet under ``mixing`` (default:
        ``self.mixing()``) on a ``stream`` batch, and ``[summed CE, metric total, count]``;
        ``weight_gradients``: see ``runner``."""
        return self.objective.replica_loss(
            self.runner(lambda: self.mixing() if mixing is None else mixing,
                        weight_gradients), images, labels, stream)

    def _step(self, images, labels, valid_images, valid_labels):
        cfg = self.config
        if cfg.arch_step == "after":  # DARTS-V1 of AutoDL: weights first
            loss, accuracy = self._weight_step(images, labels)
            self._run_arch_step(self._arch_step, after([loss], valid_images), valid_labels)
            return loss, accuracy
        replica_step = self._unrolled_arch_step if cfg.unrolled else self._arch_step
        inputs = (valid_images, valid_labels) + ((images, labels) if cfg.unrolled else ())
        self._run_arch_step(replica_step, *inputs)
        return self._weight_step(images, labels)

    def _run_arch_step(self, replica_step, *args) -> None:
        """Runs an architecture step on every replica and adds its (summed CE, metric
        total, count) to the epoch's sums."""
        distribution = self.context.distribution
        sums = distribution.run(replica_step, args=args)
        self.valid_sums.assign_add(sum_replicas(distribution, sums))

    def _weight_step(self, images, labels):
        """One SGD step of the weights under ``softmax(alpha)`` as it is now."""
        def run(x, **kwargs):
            # The mixing weights are read after any architecture step's update; the weight
            # step waits for them, so the two passes' activations never coexist.
            mixing = self.mixing()
            return self.context.supernet(after(mixing.values(), x), mixing, training=True,
                                         **kwargs)

        return self.objective.weight_step(run, images, labels)

    def _apply_arch_gradients(self, grads, stats):
        """One Adam step of the alphas (the optimizer sums the replicas' gradients);
        returns this replica's ``stats``."""
        self.arch_optimizer.apply_gradients(zip(grads, self.alphas.values()))
        return stats

    def _arch_step(self, valid_images, valid_labels):
        """First order: one Adam step on ``grad_alpha L_val(w, alpha)``."""
        with tf.GradientTape() as tape:
            loss, stats = self._ce(valid_images, valid_labels, weight_gradients=False)
        grads = tape.gradient(loss, list(self.alphas.values()))
        return self._apply_arch_gradients(grads, stats)

    def _unrolled_arch_step(self, valid_images, valid_labels, images, labels):
        """Second order: one Adam step on the unrolled gradient."""
        grads, _, stats = self.unrolled_gradients(valid_images, valid_labels, images, labels)
        return self._apply_arch_gradients(grads, stats)

    def unrolled_gradients(self, valid_images, valid_labels, images, labels,
                           radius: float = HESSIAN_RADIUS):
        """This replica's share of the second-order alpha gradient (see the module
        docstring; ``eps = radius / ||v||``), its validation CE share and its statistics;
        every gradient inside is the global-batch one. Call in replica context
        (``strategy.run``). Over text (DARTS's recurrent architect) the virtual step's
        gradient and ``v`` are clipped to the weights' clip norm and the Hessian term is
        scaled by the clip applied."""
        search, cfg = self.context, self.config
        replica = tf.distribute.get_replica_context()
        weights, alphas = search.supernet.trainable_variables, list(self.alphas.values())
        xi = tf.cast(self.objective.learning_rate(labels), weights[0].dtype)
        clip = self.objective.virtual_clip

        def all_sum(values):
            return replica.all_reduce(tf.distribute.ReduceOp.SUM, values)

        # The virtual step w' = w - xi * (momentum * buf + grad_w L_train(w) + wd * w).
        with tf.GradientTape() as tape:
            train_loss, _ = self._ce(images, labels, stream="train")
        grads = all_sum([tf.zeros_like(w) if g is None else g
                         for w, g in zip(weights, tape.gradient(train_loss, weights))])
        applied = 1.0
        if clip:
            norm = tf.linalg.global_norm(grads)
            applied = tf.minimum(1.0, clip / (norm + 1e-6))
            grads = [g * applied for g in grads]
        unrolled = [w - xi * (cfg.momentum * search.optimizer.momentum_buffer(w) + g
                              + cfg.weight_decay * w) for w, g in zip(weights, grads)]
        with tf.GradientTape() as tape:
            tape.watch(unrolled)
            with keras.StatelessScope(state_mapping=list(zip(weights, unrolled))):
                valid_loss, stats = self._ce(valid_images, valid_labels)
        alpha_grads, v = tape.gradient(valid_loss, [alphas, unrolled])
        v = all_sum([tf.zeros_like(w) if g is None else g for w, g in zip(weights, v)])
        if clip:
            v, _ = tf.clip_by_global_norm(v, clip)
        eps = radius / tf.linalg.global_norm(v)

        def train_alpha_grads(sign, wait_for=()):
            shifted = [w + sign * eps * after(wait_for, d) for w, d in zip(weights, v)]
            with tf.GradientTape() as tape:
                with keras.StatelessScope(state_mapping=list(zip(weights, shifted))):
                    loss, _ = self._ce(images, labels, stream="train",
                                       weight_gradients=False)
            return tape.gradient(loss, alphas)

        plus = train_alpha_grads(1.0)
        minus = train_alpha_grads(-1.0, wait_for=plus)  # one pass's activations at a time
        grads = [g - xi * applied * (p - m) / (2.0 * eps)
                 for g, p, m in zip(alpha_grads, plus, minus)]
        return grads, valid_loss, stats

    # --- results ---------------------------------------------------------------------

    def cell_alphas(self) -> list[np.ndarray]:
        """The architecture weights of the searched cells, in the space's order."""
        return [self.alphas[cell].numpy() for cell in self.search_space.weight_shapes]

    def most_likely(self) -> tuple[int, ...]:
        return self.search_space.derive(*self.cell_alphas())

    def derive(self, seed: int) -> tuple[tuple[int, ...], dict[str, Any]]:
        arc = self.most_likely()
        return arc, {"genotype": self.search_space.notation(arc),
                     "alphas": {cell: alpha.numpy().tolist()
                                for cell, alpha in self.alphas.items()},
                     "order": "second" if self.config.unrolled else "first"}

    def write_summaries(self, epoch: int) -> tuple[int, ...]:
        alphas = {cell: alpha.numpy() for cell, alpha in self.alphas.items()}
        likely = self.most_likely()
        tf.summary.image("arch/alpha_softmax", summary_image(
            draw_alphas(alphas, f"softmax(alpha) after epoch {epoch}",
                        *self.search_space.weight_labels())))
        tf.summary.image("arch/genotype", summary_image(
            self.search_space.draw(likely, f"genotype after epoch {epoch}")))
        tf.summary.text("arch/genotype", self.search_space.notation(likely))
        logging.info("genotype after epoch %d: %s", epoch, self.search_space.notation(likely))
        return likely


def after(tensors, x):
    """``x``, available only once ``tensors`` are computed: orders two passes that could
    otherwise run at the same time (and hold both passes' activations at once)."""
    with tf.control_dependencies(list(tensors)):
        return tf.identity(x)
