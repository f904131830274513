"""The compiled steps of language models (the recurrent space), search and final.

One SGD step of truncated BPTT as enas_lm takes it: the hidden state carried over from
the previous segment, CE + ``l2_reg * sum(w^2)`` + ``activation_reg * mean(h^2)`` +
``slowness_reg * mean((h_t - h_{t-1})^2)``, the global-norm clip of the optimizer, and a
learning rate scaled by ``segment length / bptt``. Segments have random lengths, so the
step functions take ``[B, None]`` tokens and trace once.

``LanguageSearchSteps`` is ``SearchSteps`` with this training step; its rewards,
controller updates and architecture sampling are the image search's, with the
perplexity metric (``enas_tf.data.metrics``).
"""

from __future__ import annotations

from typing import Callable, Iterable

import tensorflow as tf

from enas_tf.data.metrics import PERPLEXITY
from enas_tf.training.steps import SearchSteps

TOKENS = tf.TensorSpec([None, None], tf.int32)


def language_model_loss(ce, outputs, weights, l2_reg: float, activation_reg: float,
                        slowness_reg: float):
    """The regularised training loss of a mean CE ``ce`` and the cell outputs
    ``[B, T, H]``; ``weights`` are the decayed weights (enas_lm: the sampled ones in
    search, all in final training; a proper ``sum(w^2)``, not enas_lm's ``sum(w^4)/2``)."""
    loss = ce
    if l2_reg:
        loss += l2_reg * tf.add_n([tf.reduce_sum(tf.square(w)) for w in weights])
    if activation_reg:
        loss += activation_reg * tf.reduce_mean(tf.square(outputs))
    if slowness_reg:
        loss += slowness_reg * tf.reduce_mean(tf.square(outputs[:, 1:] - outputs[:, :-1]))
    return loss


def bptt_sgd_step(forward: Callable, variables, optimizer, inputs, targets, state,
                  base_lr, bptt: int, decayed: Callable, config):
    """One step; ``forward(inputs, state) -> (logits, last state, outputs)``,
    ``decayed() -> weights to decay``. Returns ``(mean CE, the last state)``."""
    with tf.GradientTape() as tape:
        logits, last, outputs = forward(inputs, state)
        ce = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=targets, logits=logits))
        loss = language_model_loss(ce, outputs, decayed(), config.l2_reg, config.activation_reg,
                                   config.slowness_reg)
    grads = tape.gradient(loss, variables)
    scale = tf.cast(tf.shape(targets)[1], tf.float32) / float(bptt)
    optimizer.learning_rate.assign(base_lr * scale)
    optimizer.apply_gradients(zip(grads, variables))
    return ce, last


class LanguageSearchSteps(SearchSteps):
    """``SearchSteps`` for the recurrent supernet: the state is carried across the
    segments of an epoch (reset by ``start_epoch``), and the training step is
    ``bptt_sgd_step`` on the sampled cell, decaying only its sampled weights."""

    batch_signature = [TOKENS, TOKENS]

    def __init__(self, supernet, optimizer, reinforce, strategy, config):
        if strategy.num_replicas_in_sync != 1:
            raise ValueError("the recurrent space searches on one device.")
        self.config = config
        self.state = tf.Variable(tf.zeros([config.batch_size, supernet.hidden_size]),
                                 trainable=False, name="bptt_state")
        self.base_lr = tf.Variable(float(config.lr_max), trainable=False, name="base_lr")
        # Not XLA-compiled: the BPTT step carries its state in a variable (untested
        # under jit_compile, which the recurrent search has never applied).
        super().__init__(supernet, optimizer, reinforce, strategy, config.batch_size,
                         config.l2_reg, 0.0, jit_compile=False, metric=PERPLEXITY)

    def start_epoch(self) -> None:
        """A fresh state and the epoch's learning rate as the base of the scaled one."""
        self.state.assign(tf.zeros_like(self.state))
        self.base_lr.assign(float(self.optimizer.learning_rate))

    def _train_step(self, inputs, targets, arc):
        self.trace_count += 1
        supernet = self.supernet
        ce, last = bptt_sgd_step(
            lambda x, state: supernet(x, arc=arc, training=True, initial_state=state,
                                      return_state=True),
            supernet.trainable_variables, self.optimizer, inputs, targets, self.state,
            self.base_lr, self.config.bptt, lambda: supernet.sampled_weights(arc), self.config)
        self.state.assign(last)
        return ce, tf.exp(ce)


def carried_sums(forward: Callable, batches: Iterable, batch_size: int, hidden_size: int,
                 step=None) -> tuple[float, float]:
    """(summed NLL, tokens) over consecutive segments with the state carried from one
    to the next (true perplexity of the whole split); ``forward(inputs, state) ->
    (logits, last state, outputs)``. ``step``: a compiled ``nll_step(forward)`` to reuse."""
    step = step or nll_step(forward)
    state = tf.zeros([batch_size, hidden_size])
    total = count = 0.0
    for inputs, targets in batches:
        nll, tokens, state = step(inputs, targets, state)
        total, count = total + float(nll), count + float(tokens)
    return total, max(count, 1.0)


def nll_step(forward: Callable):
    """A compiled ``(inputs, targets, state) -> (summed NLL, tokens, last state)``."""
    def step(inputs, targets, state):
        logits, last, _ = forward(inputs, state)
        nll, tokens = PERPLEXITY.batch_sums(targets, logits)
        return nll, tokens, last

    return tf.function(step, input_signature=[TOKENS, TOKENS, tf.TensorSpec([None, None])])
