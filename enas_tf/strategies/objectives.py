"""What a gradient-based strategy (DARTS, GDAS) trains on: the loss of a supernet under
some mixing, for images (a classifier's cross-entropy) or text (a language model's, over
truncated-BPTT segments with the hidden state carried).

The strategy says *which* mixing and *when*; an objective says how a batch becomes a loss
and a weight step, so the same DARTS and GDAS code searches image cells and recurrent
cells. ``make_objective`` picks the one the data call for (their metric), as
``make_search_steps`` does for ENAS and random search.

Every ``run`` given to an objective is ``run(inputs, **call_kwargs) -> supernet output``,
the supernet called under the strategy's mixing with ``training=True``.

Example:

```python
objective = make_objective(context)
batches = objective.start_epoch(epoch)              # validation batches
loss, stats = objective.replica_loss(run, *next(batches))
```
"""

from __future__ import annotations

from typing import Callable

import tensorflow as tf

from enas_tf.strategies.base import StrategyContext
from enas_tf.training.lm_steps import TOKENS, CarriedBPTT, bptt_sgd_step
from enas_tf.training.run_dir import epoch_seed
from enas_tf.training.steps import distributed_sgd_step, sum_cross_entropy


def stats_of(*values) -> tf.Tensor:
    """``[summed CE, metric total, count]`` of one pass, as float32 whatever the dtype."""
    return tf.stack([tf.cast(v, tf.float32) for v in values])


class ClassifierObjective:
    """Images: the mean cross-entropy over the global batch; validation batches are
    shuffled and augmented like training ones (DARTS's second half of the training set)."""

    #: Gradient clip of DARTS's virtual step (the convolutional architect clips nothing).
    virtual_clip: float | None = None
    #: The compiled step's input signature (training and validation batches), if fixed.
    step_signature: list | None = None

    def __init__(self, context: StrategyContext):
        self.context, self.config = context, context.config

    def start_epoch(self, epoch: int):
        cfg, context = self.config, self.context
        dataset = context.data.dataset("valid", cfg.batch_size,
                                      shuffle_seed=epoch_seed(cfg.seed, epoch) + 1,
                                      augment=True, repeat=True, drop_remainder=True)
        return iter(context.distribution.experimental_distribute_dataset(dataset))

    def replica_loss(self, run: Callable, inputs, targets, stream: str = "valid"):
        """This replica's share of the mean CE, and ``[summed CE, metric total, count]``."""
        del stream
        logits = run(inputs)
        summed = sum_cross_entropy(targets, logits)
        total, count = self.context.metric.batch_sums(targets, logits)
        return summed / self.config.batch_size, stats_of(summed, total, count)

    def weight_step(self, run: Callable, inputs, targets):
        """One SGD step of the weights; (mean CE, accuracy) of the global batch."""
        context, cfg = self.context, self.config
        return distributed_sgd_step(
            lambda x: (run(x), None), context.supernet.trainable_variables, context.optimizer,
            inputs, targets, context.distribution, cfg.batch_size, cfg.l2_reg, 0.0)

    def learning_rate(self, targets):
        """The weights' learning rate of the step on ``targets`` (DARTS's ``xi``)."""
        del targets
        return self.context.optimizer.learning_rate


class LanguageObjective(ClassifierObjective):
    """Text: truncated BPTT over consecutive segments, the hidden state carried across an
    epoch separately for the training and the validation streams (DARTS's ``hidden`` and
    ``hidden_valid``); the weight step is ``bptt_sgd_step`` (learning rate scaled by the
    segment's length, the activation regularisers, the global clip), and the virtual step
    of the second-order gradient clips as DARTS's recurrent architect does."""

    def __init__(self, context: StrategyContext):
        super().__init__(context)
        if context.distribution.num_replicas_in_sync != 1:
            raise ValueError("the recurrent space searches on one device.")
        cfg = self.config
        self.carried = CarriedBPTT(cfg.batch_size, context.supernet.hidden_size, cfg.bptt,
                                   cfg.lr_max, streams=("train", "valid"))
        self.virtual_clip = cfg.grad_bound or None
        # Segments of random length: one trace for every length.
        self.step_signature = [TOKENS] * 4

    def start_epoch(self, epoch: int):
        """Fresh states; consecutive ``bptt``-token validation segments, repeated."""
        self.carried.start_epoch(self.context.optimizer.learning_rate)
        dataset = self.context.data.dataset("valid", self.config.batch_size, repeat=True,
                                           drop_remainder=True)
        return iter(dataset)

    def replica_loss(self, run: Callable, inputs, targets, stream: str = "valid"):
        """The mean CE per token from ``stream``'s state; a validation pass carries its
        last state on (DARTS's ``hidden_valid``), a training one (the virtual step's
        losses) does not."""
        state = self.carried.states[stream]
        logits, last, _ = run(inputs, initial_state=state, return_state=True)
        if stream == "valid":
            state.assign(last)
        total, count = self.context.metric.batch_sums(targets, logits)
        return total / tf.cast(count, total.dtype), stats_of(total, total, count)

    def weight_step(self, run: Callable, inputs, targets):
        """One BPTT step from the training state; (mean CE, perplexity)."""
        cfg, supernet = self.config, self.context.supernet
        variables = supernet.trainable_variables
        ce = bptt_sgd_step(
            lambda x, state: run(x, initial_state=state, return_state=True), variables,
            self.context.optimizer, inputs, targets, self.carried, lambda: variables, cfg)
        return ce, tf.exp(ce)

    def learning_rate(self, targets):
        return self.carried.learning_rate(targets)


def make_objective(context: StrategyContext) -> ClassifierObjective:
    """The objective the data call for: a language model's for text (perplexity), a
    classifier's otherwise."""
    if context.metric.name == "perplexity":
        return LanguageObjective(context)
    return ClassifierObjective(context)
