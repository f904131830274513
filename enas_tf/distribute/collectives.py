"""Cross-replica sums that also work inside ``tf.switch_case`` branches.

The supernet's batch norms run inside the op branches of ``tf.switch_case``. With more
than one replica their statistics must be summed over replicas (synchronised BN), or a
2-replica step would normalise over half batches and differ from the 1-replica step.
``ReplicaContext.all_reduce`` cannot do this: under ``MirroredStrategy`` it synchronises
the replica threads with ``merge_call``, which TF refuses inside control flow. Here the
strategy's own collective launcher is called directly, from every replica, as TF itself
does when it skips ``merge_call`` (XLA on GPUs): all replicas take the same branch (one
architecture per step), so their collectives match up.
"""

from __future__ import annotations

import tensorflow as tf
from tensorflow.python.distribute import cross_device_ops
from tensorflow.python.ops import collective_ops


def in_multi_replica_context() -> bool:
    """True inside ``strategy.run`` with more than one replica in sync.

    Code running outside ``strategy.run`` (building a model in ``strategy.scope()``,
    calling it directly) sees only its own batch and computes locally.
    """
    context = tf.distribute.get_replica_context()
    return context is not None and context.num_replicas_in_sync > 1


def _collective_launcher(strategy: tf.distribute.Strategy, context):
    """This replica's collective launcher, or None if the strategy has none."""
    extended = strategy.extended
    for attribute in ("_collective_ops", "_cross_device_ops"):
        ops = getattr(extended, attribute, None)
        if isinstance(ops, cross_device_ops.CollectiveAllReduce):
            return ops._launchers[context._replica_id]  # pylint: disable=protected-access
    return None


def _ordering_token(launcher) -> tf.Tensor:
    """The launcher's ordering token as a tensor of the enclosing function graph.

    Collectives on a device must start in the same order on every replica; TF orders
    them through this resource. Capturing it in the outermost non-control-flow graph
    (not in a branch) keeps the ``tf.switch_case`` gradient able to resolve it.
    """
    graph = tf.compat.v1.get_default_graph()
    while getattr(graph, "is_control_flow_graph", False):
        graph = graph.outer_graph
    return graph.capture(launcher._ordering_token.handle)  # pylint: disable=protected-access


def _collective_sum(launcher, value: tf.Tensor) -> tf.Tensor:
    # pylint: disable=protected-access
    with tf.device(launcher._device):
        return collective_ops.all_reduce_v2(
            value, launcher._group_size, launcher._group_key, launcher._next_instance_key(),
            merge_op="Add", final_op="Id", ordering_token=_ordering_token(launcher))


def cross_replica_sum(value: tf.Tensor) -> tf.Tensor:
    """Sum of ``value`` over all replicas, differentiable, usable inside control flow.

    With one replica, or outside ``strategy.run``, this is ``value`` itself. Call it from
    every replica, in the same order (as ``strategy.run`` code naturally does).
    """
    if not in_multi_replica_context():
        return value
    strategy = tf.distribute.get_strategy()
    context = tf.distribute.get_replica_context()
    launcher = _collective_launcher(strategy, context)
    if launcher is None or tf.executing_eagerly():
        # No collective launcher (e.g. a custom cross_device_ops) or eager replicas: the
        # merge_call path, which works outside control flow only.
        return context.all_reduce(tf.distribute.ReduceOp.SUM, value)

    @tf.custom_gradient
    def summed(x):
        # The gradient of an all-sum is the all-sum of the gradients.
        return _collective_sum(launcher, x), lambda dy: _collective_sum(launcher, dy)

    return summed(value)


def broadcast_from_first_replica(value: tf.Tensor) -> tf.Tensor:
    """Every replica gets replica 0's ``value`` (e.g. the architecture of the step)."""
    if not in_multi_replica_context():
        return value
    context = tf.distribute.get_replica_context()
    is_first = tf.equal(context.replica_id_in_sync_group, 0)
    return cross_replica_sum(tf.where(is_first, value, tf.zeros_like(value)))


def cross_replica_moments(x: tf.Tensor, axes) -> tuple[tf.Tensor, tf.Tensor]:
    """Mean and variance of ``x`` over ``axes`` and over all replicas' batches.

    One all-reduce of (sum, sum of squares, count) per call; with one replica this is
    ``tf.nn.moments``.
    """
    if not in_multi_replica_context():
        return tf.nn.moments(x, axes)
    count = tf.cast(tf.reduce_prod(tf.gather(tf.shape(x), axes)), x.dtype)
    total = tf.reduce_sum(x, axes)
    totals = cross_replica_sum(tf.stack(
        [total, tf.reduce_sum(tf.square(x), axes), tf.fill(tf.shape(total), count)]))
    mean = totals[0] / totals[2]
    variance = tf.maximum(totals[1] / totals[2] - tf.square(mean), 0.0)
    return mean, variance
