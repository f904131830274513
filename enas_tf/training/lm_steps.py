"""The compiled steps of language models (the recurrent space), search and final.

One SGD step of truncated BPTT as enas_lm takes it: the hidden state carried over from
the previous segment, CE + ``l2_reg`` times the weight-decay term (``weight_decay_term``)
+ ``activation_reg * mean(h^2)`` + ``slowness_reg * mean((h_t - h_{t-1})^2)``, the
global-norm clip of the optimizer, and a learning rate scaled by ``segment length /
bptt``. Segments have random lengths, so the step functions take ``[B, None]`` tokens and
trace once.

``LanguageSearchSteps`` is ``SearchSteps`` with this training step; its rewards,
controller updates and architecture sampling are the image search's, with the
perplexity metric (``enas_tf.data.metrics``).
"""

from __future__ import annotations

from typing import Callable, Iterable

import keras
import tensorflow as tf

from enas_tf.data.metrics import PERPLEXITY
from enas_tf.training.steps import SearchSteps, l2_penalty

TOKENS = tf.TensorSpec([None, None], tf.int32)


def weight_decay_term(weights, form: str = "l2") -> tf.Tensor:
    """``sum(w^2)`` over ``weights``; ``form="enas_lm"``: enas_lm's search term
    ``tf.nn.l2_loss(w ** 2) = sum(w^4) / 2``."""
    if form == "enas_lm":
        return l2_penalty([tf.square(w) for w in weights]) / 2.0
    return l2_penalty(weights)


def enas_lm_decayed(sampled) -> list:
    """What enas_lm's search decays of the sampled weights ``[W_prev, k_1, ..., k_N]``:
    ``W_prev`` and ``k_2 .. k_N`` (``var_s = [w_prev] + w_skip[1:]``)."""
    return [sampled[0], *sampled[2:]]


def language_model_loss(ce, outputs, weights, l2_reg: float, activation_reg: float,
                        slowness_reg: float, decay_form: str = "l2"):
    """The regularised training loss of a mean CE ``ce`` and the cell outputs
    ``[B, T, H]``; ``weights`` are the decayed weights (the sampled ones in search, all
    in final training), by ``weight_decay_term(weights, decay_form)``."""
    loss = ce
    if l2_reg:
        loss += l2_reg * weight_decay_term(weights, decay_form)
    if activation_reg:
        loss += activation_reg * tf.reduce_mean(tf.square(outputs))
    if slowness_reg:
        loss += slowness_reg * tf.reduce_mean(tf.square(outputs[:, 1:] - outputs[:, :-1]))
    return loss


class CarriedBPTT:
    """What truncated BPTT carries across the segments of an epoch: the hidden state of
    each stream (a search's validation passes carry their own, DARTS's ``hidden_valid``)
    and the epoch's base learning rate, which each segment scales by its length over
    ``bptt`` (enas_lm, DARTS).

    Example:

    ```python
    carried = CarriedBPTT(batch_size=64, hidden_size=200, bptt=35, base_lr=20.0)
    carried.start_epoch(optimizer.learning_rate)   # zero states, the epoch's rate
    carried.learning_rate(targets)                 # base * T / 35 for [B, T] targets
    ```
    """

    def __init__(self, batch_size: int, hidden_size: int, bptt: int, base_lr: float,
                 streams: tuple[str, ...] = ("train",)):
        self.bptt = bptt
        shape = [batch_size, hidden_size]
        self.states = {stream: tf.Variable(tf.zeros(shape, keras.config.floatx()),
                                           trainable=False, name=f"{stream}_bptt_state")
                       for stream in streams}
        self.base_lr = tf.Variable(float(base_lr), trainable=False, name="base_lr")

    def start_epoch(self, learning_rate) -> None:
        for state in self.states.values():
            state.assign(tf.zeros_like(state))
        self.base_lr.assign(float(learning_rate))

    def learning_rate(self, targets) -> tf.Tensor:
        """The rate of the segment ``targets`` ``[B, T]``: base rate times ``T / bptt``."""
        return self.base_lr * tf.cast(tf.shape(targets)[1], tf.float32) / float(self.bptt)


def bptt_sgd_step(forward: Callable, variables, optimizer, inputs, targets,
                  carried: CarriedBPTT, decayed: Callable, config, decay_form: str = "l2"):
    """One step from ``carried``'s training state, which it then carries on;
    ``forward(inputs, state) -> (logits, last state, outputs)``, ``decayed() -> weights
    to decay`` (by ``decay_form``). Returns the mean CE."""
    state = carried.states["train"]
    with tf.GradientTape() as tape:
        logits, last, outputs = forward(inputs, state)
        ce = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=targets, logits=logits))
        loss = language_model_loss(ce, outputs, decayed(), config.l2_reg, config.activation_reg,
                                   config.slowness_reg, decay_form)
    grads = tape.gradient(loss, variables)
    optimizer.learning_rate.assign(carried.learning_rate(targets))
    optimizer.apply_gradients(zip(grads, variables))
    state.assign(last)
    return ce


class LanguageSearchSteps(SearchSteps):
    """``SearchSteps`` for the recurrent supernet: the state is carried across the
    segments of an epoch (reset by ``start_epoch``), and the training step is
    ``bptt_sgd_step`` on the sampled cell, decaying only its sampled weights."""

    batch_signature = [TOKENS, TOKENS]

    def __init__(self, supernet, optimizer, reinforce, strategy, config):
        if strategy.num_replicas_in_sync != 1:
            raise ValueError("the recurrent space searches on one device.")
        self.config = config
        self.carried = CarriedBPTT(config.batch_size, supernet.hidden_size, config.bptt,
                                   config.lr_max)
        # Not XLA-compiled: the BPTT step carries its state in a variable (untested
        # under jit_compile, which the recurrent search has never applied).
        super().__init__(supernet, optimizer, reinforce, strategy, config.batch_size,
                         config.l2_reg, 0.0, jit_compile=False, metric=PERPLEXITY)

    def start_epoch(self) -> None:
        """A fresh state and the epoch's learning rate as the base of the scaled one."""
        self.carried.start_epoch(self.optimizer.learning_rate)

    def _train_step(self, inputs, targets, arc):
        self.trace_count += 1
        supernet = self.supernet
        ce = bptt_sgd_step(
            lambda x, state: supernet(x, arc=arc, training=True, initial_state=state,
                                      return_state=True),
            supernet.trainable_variables, self.optimizer, inputs, targets, self.carried,
            self._decayed(arc), self.config, self.config.search_decay)
        return ce, tf.exp(ce)

    def _decayed(self, arc) -> Callable:
        """The sampled weights the search decays: enas_lm's choice, or all of them."""
        if self.config.search_decay == "enas_lm":
            return lambda: enas_lm_decayed(self.supernet.sampled_weights(arc))
        return lambda: self.supernet.sampled_weights(arc)



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
