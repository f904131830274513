"""The compiled steps of an ENAS search, each a ``tf.function`` run under a strategy.

The architecture is a tensor argument (one trace serves every architecture), sampled
once per step outside ``strategy.run`` so every replica trains the same one. Losses are
summed per replica and divided by the global batch size, so replicas' gradients add up
to the gradient of the global-batch mean.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from enas_tf.controllers.reinforce import Reinforce
from enas_tf.supernet.micro import MicroSupernet


def _sum_ce(labels, logits):
    return tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.cast(labels, tf.int32), logits=logits))


def _num_correct(labels, logits):
    predictions = tf.argmax(logits, axis=-1, output_type=tf.int32)
    return tf.reduce_sum(tf.cast(tf.equal(predictions, tf.cast(labels, tf.int32)), tf.float32))


def l2_penalty(variables) -> tf.Tensor:
    """``sum(w**2)`` over all variables, BN scale/offset included, as official ENAS."""
    return tf.add_n([tf.reduce_sum(tf.square(v)) for v in variables])


class SearchSteps:
    """Builds the child train step, the reward/eval forward and the controller sample step.

    ``trace_count`` counts Python traces of the train step (tests use it to show that
    new architectures do not retrace).
    """

    def __init__(self, supernet: MicroSupernet, optimizer: keras.optimizers.Optimizer,
                 reinforce: Reinforce, strategy: tf.distribute.Strategy, global_batch_size: int,
                 l2_reg: float, aux_weight: float):
        self.supernet, self.optimizer, self.reinforce = supernet, optimizer, reinforce
        self.strategy, self.global_batch_size = strategy, global_batch_size
        self.l2_reg, self.aux_weight = l2_reg, aux_weight
        self.trace_count = 0
        self.train_step = tf.function(self._train_step)
        self.count_correct = tf.function(self._count_correct)
        self.controller_sample = tf.function(self._controller_sample)
        self.sample_arc = tf.function(lambda: reinforce.controller.sample()[0])

    def _train_step(self, images, labels, arc):
        """One SGD step of the shared weights on ``arc``; returns (mean CE, accuracy)."""
        self.trace_count += 1
        use_aux = self.aux_weight > 0 and self.supernet.aux_head is not None
        replicas = self.strategy.num_replicas_in_sync

        def replica_step(images, labels):
            variables = self.supernet.trainable_variables
            with tf.GradientTape() as tape:
                logits, aux_logits = self.supernet(images, arc=arc, training=True,
                                                   return_aux=True)
                ce = _sum_ce(labels, logits) / self.global_batch_size
                loss = ce
                if use_aux:
                    loss += self.aux_weight * _sum_ce(labels, aux_logits) / self.global_batch_size
                if self.l2_reg:
                    loss += self.l2_reg * l2_penalty(variables) / replicas
            grads = tape.gradient(loss, variables)
            self.optimizer.apply_gradients(zip(grads, variables))
            return ce, _num_correct(labels, logits)

        ce, correct = self.strategy.run(replica_step, args=(images, labels))
        reduce = lambda v: self.strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None)
        return reduce(ce), reduce(correct) / self.global_batch_size

    def _count_correct(self, images, labels, arc):
        """(correct predictions, examples) of ``arc`` on one batch, no weight update.

        BN uses batch statistics (official search); dropout is off.
        """
        def replica_fn(images, labels):
            logits = self.supernet(images, arc=arc, training=False)
            return _num_correct(labels, logits), tf.cast(tf.shape(labels)[0], tf.float32)

        correct, count = self.strategy.run(replica_fn, args=(images, labels))
        reduce = lambda v: self.strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None)
        return reduce(correct), reduce(count)

    def _controller_sample(self, images, labels):
        """Samples one architecture, rewards it by its accuracy on this validation batch
        and returns its REINFORCE gradients and stats."""
        def accuracy(arc):
            correct, count = self._count_correct(images, labels, arc)
            return correct / count

        return self.reinforce.sample_gradients(accuracy)
