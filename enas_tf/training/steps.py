"""The compiled steps of an ENAS search, each a ``tf.function`` run under a strategy.

The architecture is a tensor argument (one trace serves every architecture), sampled
once per step outside ``strategy.run`` and broadcast from replica 0, so every replica
(on every worker) trains the same one. Losses are
summed per replica and divided by the global batch size, so replicas' gradients add up
to the gradient of the global-batch mean.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from enas_tf.controllers.reinforce import Reinforce
from enas_tf.distribute.collectives import broadcast_from_first_replica
from enas_tf.data.metrics import ACCURACY, Metric


def sum_cross_entropy(labels, logits, label_smoothing: float = 0.0):
    """Summed cross-entropy of integer ``labels``; with ``label_smoothing`` e, against
    targets ``(1 - e) * one_hot + e / classes`` (DARTS's ``CrossEntropyLabelSmooth``)."""
    labels = tf.cast(labels, tf.int32)
    if not label_smoothing:
        return tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=labels, logits=logits))
    log_probs = tf.nn.log_softmax(logits)
    picked = -tf.gather(log_probs, labels, batch_dims=1)
    uniform = -tf.reduce_mean(log_probs, axis=-1)
    return tf.reduce_sum((1.0 - label_smoothing) * picked + label_smoothing * uniform)


def count_correct_predictions(labels, logits):
    predictions = tf.argmax(logits, axis=-1, output_type=tf.int32)
    return tf.reduce_sum(tf.cast(tf.equal(predictions, tf.cast(labels, tf.int32)), tf.float32))


def l2_penalty(variables) -> tf.Tensor:
    """``sum(w**2)`` over all variables, BN scale/offset included, as official ENAS."""
    return tf.add_n([tf.reduce_sum(tf.square(v)) for v in variables])


def sum_replicas(strategy: tf.distribute.Strategy, value) -> tf.Tensor:
    """The sum over replicas of a per-replica value."""
    return strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None)


def sgd_replica_step(forward, variables, optimizer, images, labels,
                     strategy: tf.distribute.Strategy, global_batch_size: int, l2_reg: float,
                     aux_weight: float, label_smoothing: float = 0.0):
    """One replica's part of an SGD step: CE (+ aux CE) (+ L2), gradients, update.

    ``forward(images)`` returns ``(logits, aux_logits or None)``. Returns this replica's
    share of the mean CE and its number of correct predictions.
    """
    with tf.GradientTape() as tape:
        logits, aux_logits = forward(images)
        ce = sum_cross_entropy(labels, logits, label_smoothing) / global_batch_size
        loss = ce
        if aux_weight and aux_logits is not None:
            loss += aux_weight * sum_cross_entropy(labels, aux_logits,
                                                   label_smoothing) / global_batch_size
        if l2_reg:
            loss += l2_reg * l2_penalty(variables) / strategy.num_replicas_in_sync
    grads = tape.gradient(loss, variables)
    optimizer.apply_gradients(zip(grads, variables))
    return ce, count_correct_predictions(labels, logits)


def distributed_sgd_step(forward, variables, optimizer, images, labels,
                         strategy: tf.distribute.Strategy, global_batch_size: int,
                         l2_reg: float, aux_weight: float, label_smoothing: float = 0.0):
    """A full SGD step under ``strategy``; returns (mean CE, accuracy) of the global batch."""
    def replica_step(images, labels):
        return sgd_replica_step(forward, variables, optimizer, images, labels, strategy,
                                global_batch_size, l2_reg, aux_weight, label_smoothing)

    ce, correct = strategy.run(replica_step, args=(images, labels))
    return (sum_replicas(strategy, ce), sum_replicas(strategy, correct) / global_batch_size)


def distributed_count_correct(forward, images, labels, strategy: tf.distribute.Strategy,
                              metric: Metric = ACCURACY):
    """``metric``'s sums of ``forward(images) -> logits`` over all replicas: (correct
    predictions, examples) for accuracy, (summed NLL, tokens) for perplexity."""
    def replica_fn(images, labels):
        return metric.batch_sums(labels, forward(images))

    correct, count = strategy.run(replica_fn, args=(images, labels))
    return sum_replicas(strategy, correct), sum_replicas(strategy, count)


def split_batches(strategy: tf.distribute.Strategy, data, split: str, batch_size: int) -> list:
    """Every distributed batch of a split, fetched once (for scoring many architectures
    on the same data without rebuilding the input pipeline for each)."""
    return list(strategy.experimental_distribute_dataset(data.dataset(split, batch_size)))


def batches_sums(count_correct, batches) -> tuple[float, float]:
    """The summed ``count_correct(images, labels) -> (sum, count)`` over ``batches``."""
    correct = total = 0.0
    for images, labels in batches:
        batch_correct, batch_total = count_correct(images, labels)
        correct, total = correct + float(batch_correct), total + float(batch_total)
    return correct, max(total, 1.0)


def batches_accuracy(count_correct, batches, metric: Metric = ACCURACY) -> float:
    """``metric`` (accuracy by default) over ``batches``; ``count_correct(images,
    labels) -> (sum, count)`` as ``metric.batch_sums``."""
    return float(metric.value(*batches_sums(count_correct, batches)))


def split_accuracy(count_correct, strategy: tf.distribute.Strategy, data, split: str,
                   batch_size: int) -> float:
    """Accuracy over a whole split; ``count_correct(images, labels) -> (correct, count)``."""
    dataset = strategy.experimental_distribute_dataset(data.dataset(split, batch_size))
    return batches_accuracy(count_correct, dataset)


class SearchSteps:
    """Builds the child train step, the reward/eval forward and the controller sample step.

    ``supernet`` is any space's supernet: ``supernet(images, arc=..., training=...,
    return_aux=...)``.

    ``trace_count`` counts Python traces of the train step (tests use it to show that
    new architectures do not retrace). ``jit_compile`` compiles the train step with XLA.
    """

    def __init__(self, supernet: keras.Model, optimizer: keras.optimizers.Optimizer,
                 reinforce: Reinforce | None, strategy: tf.distribute.Strategy,
                 global_batch_size: int, l2_reg: float, aux_weight: float,
                 jit_compile: bool = False, metric: Metric = ACCURACY):
        self.supernet, self.optimizer, self.reinforce = supernet, optimizer, reinforce
        self.metric = metric
        self.strategy, self.global_batch_size = strategy, global_batch_size
        self.l2_reg, self.aux_weight = l2_reg, aux_weight
        self.trace_count = 0
        batch = self.batch_signature
        self.train_step = tf.function(
            self._train_step, jit_compile=jit_compile,
            input_signature=None if batch is None else [*batch, self.arc_signature()])
        self.count_correct = tf.function(self._count_correct)
        if reinforce is not None:  # None: architectures come from elsewhere (a tuner)
            controller = reinforce.controller
            self.controller_sample = tf.function(self._controller_sample)
            self.controller_update = tf.function(self._controller_update)
            self.search_step = tf.function(self._search_step, jit_compile=jit_compile,
                                           input_signature=batch)
            self.sample_arc = tf.function(lambda: controller.sample()[0])
            self.most_likely_arc = tf.function(controller.most_likely)
            self.sample_with_probabilities = tf.function(controller.sample_with_probabilities)

    # The step functions' input signature (None: traced per input shape). With one, the
    # training step's architecture input has ``arc_signature()``.
    batch_signature = None

    def arc_signature(self) -> tf.TensorSpec:
        """The architecture input of ``train_step`` when ``batch_signature`` is set."""
        return tf.TensorSpec([self.supernet.search_space.num_decisions], tf.int32)

    def start_epoch(self) -> None:
        """Called before an epoch's steps (the language-model steps reset their state)."""

    def _train_step(self, images, labels, arc):
        """One SGD step of the shared weights on ``arc``; returns (mean CE, accuracy)."""
        self.trace_count += 1
        return distributed_sgd_step(
            lambda x: self.supernet(x, arc=broadcast_from_first_replica(arc), training=True,
                                    return_aux=True),
            self.supernet.trainable_variables, self.optimizer, images, labels, self.strategy,
            self.global_batch_size, self.l2_reg, self.aux_weight)

    def _search_step(self, images, labels):
        """Samples an architecture and trains the shared weights on it, in one dispatch;
        returns (mean CE, accuracy, the architecture)."""
        arc = self.reinforce.controller.sample()[0]
        return (*self._train_step(images, labels, arc), arc)

    def _count_correct(self, images, labels, arc):
        """(correct predictions, examples) of ``arc`` on one batch, no weight update.

        BN uses batch statistics (official search); dropout is off.
        """
        return distributed_count_correct(
            lambda x: self.supernet(x, arc=broadcast_from_first_replica(arc), training=False),
            images, labels, self.strategy, self.metric)

    def _controller_sample(self, images, labels):
        """Samples one architecture, rewards it by its accuracy (or ``80 / perplexity``)
        on this validation batch and returns its REINFORCE gradients and stats."""
        def accuracy(arc):
            return self.metric.reward(*self._count_correct(images, labels, arc))

        return self.reinforce.sample_gradients(accuracy)

    def _controller_update(self, iterator, num_samples):
        """One REINFORCE update in one dispatch: ``num_samples`` architectures, each
        rewarded by its accuracy on the next validation batch of ``iterator``."""
        def accuracy(arc):
            images, labels = next(iterator)
            return self.metric.reward(*self._count_correct(images, labels, arc))

        return self.reinforce.update(accuracy, num_samples)
