"""The limit a DARTS search step is measured against: the same network as plain layers.

``reference_network`` is DARTS's search network (``DartsSupernet``'s stem, cells,
preprocessing and classifier, the same weights) whose edges are ordinary inline layers
computing every primitive and summing them with constant weights: no architecture
weights, no softmax, no shared edge functions, no stateless scope, no distribution
strategy. ``reference_step`` makes the passes a DARTS step needs, each as a plain
``GradientTape`` pass, one after the other:

* first order: the loss gradient with respect to the constant edge weights on a
  validation batch (what an architecture gradient costs: every activation gradient, no
  weight gradients), then an SGD step of the weights on a training batch;
* second order: a weight gradient on the training batch (the virtual step), a weight and
  edge-weight gradient on the validation batch, two edge-weight gradients on the training
  batch (the finite-difference Hessian-vector product), then the SGD step.

So what the supernet costs beyond the reference is its search machinery, not the
computation DARTS asks for.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from enas_tf.strategies.darts import after
from enas_tf.supernet.darts import DartsSearchCell, DartsSupernet
from enas_tf.supernet.darts_edges import MixedEdge, mixed_edge


class InlineEdge(MixedEdge):
    """An edge whose primitives are inline ops of the caller's graph, summed with the
    given row of constants."""

    def call(self, x, mixing_row, index=None, relu=None, weight_gradients=True):
        # The mixed edge's body, traced inline (not as a tf.function): the graph computes
        # only the gradients a pass asks for by itself.
        del index, weight_gradients
        relu = tf.nn.relu(x) if relu is None else relu
        return mixed_edge.python_function(x, relu, mixing_row, self.weight_tensors(),
                                          self.strides)


def reference_network(supernet: DartsSupernet, image_shape) -> DartsSupernet:
    """``supernet`` (not yet built) with inline edges, built."""
    for cell in supernet.cells:
        if isinstance(cell, DartsSearchCell):
            cell.edges = [InlineEdge(edge.filters, edge.strides, name=edge.name)
                          for edge in cell.edges]
    return supernet.build_for(image_shape)


def reference_step(network: DartsSupernet, order: int, weight_decay: float = 3e-4,
                   clip: float = 5.0):
    """A compiled ``step(images, labels, valid_images, valid_labels)`` making the passes of
    a DARTS step of ``order`` 1 or 2 on ``network`` (see the module docstring)."""
    weights = network.trainable_variables
    optimizer = keras.optimizers.SGD(0.025, momentum=0.9)
    shapes = network.search_space.weight_shapes

    def gradients(images, labels, targets, wait=()):
        """Gradients of the mean CE on a batch w.r.t. ``targets`` ("weights", "edges")."""
        edges = {cell: tf.fill(shape, 1.0 / shape[1]) for cell, shape in shapes.items()}
        with tf.GradientTape() as tape:
            tape.watch(list(edges.values()))
            ready = after([g for g in wait if g is not None], images)
            logits = network(ready, mixing=edges, training=True)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=labels, logits=logits))
        wanted = (list(edges.values()) if "edges" in targets else []) + (
            weights if "weights" in targets else [])
        return tape.gradient(loss, wanted)

    def checksum(grads) -> tf.Tensor:
        # Used by the step's output: a pass only waited for (a control dependency) would be
        # pruned by graph optimisation as a value nobody reads.
        return tf.add_n([tf.reduce_sum(g) for g in grads if g is not None])

    @tf.function
    def step(images, labels, valid_images, valid_labels):
        if order == 1:
            passes = [gradients(valid_images, valid_labels, ("edges",))]
        else:
            passes = [gradients(images, labels, ("weights",))]
            passes.append(gradients(valid_images, valid_labels, ("edges", "weights"),
                                    passes[-1]))
            passes.append(gradients(images, labels, ("edges",), passes[-1]))
            passes.append(gradients(images, labels, ("edges",), passes[-1]))
        grads = gradients(images, labels, ("weights",), passes[-1])
        grads, _ = tf.clip_by_global_norm(
            [g + weight_decay * w for g, w in zip(grads, weights)], clip)
        optimizer.apply_gradients(zip(grads, weights))
        return tf.add_n([checksum(grads) for grads in passes])

    return step
