"""What every micro cell does at its edges: calibrate its two inputs, combine its outputs."""

from __future__ import annotations

import keras
import tensorflow as tf

from enas_tf.layers.ops import PACKAGE, FactorizedReduction, ReLUConvBN, batch_norm


@keras.saving.register_keras_serializable(PACKAGE)
class CellInputCalibration(keras.layers.Layer):
    """Brings both cell inputs to ``filters`` channels at the resolution of input 1.

    Input 0 with twice the resolution of input 1 gets ReLU + factorized reduction;
    otherwise an input whose channel count differs gets ReLU -> 1x1 conv -> BN
    (official ``_maybe_calibrate_size``).
    """

    def __init__(self, filters: int, **kwargs):
        super().__init__(**kwargs)
        self.filters = filters

    def build(self, input_shape):
        shape0, shape1 = (tuple(s) for s in input_shape)
        self.reduce0 = shape0[1] is not None and shape0[1] == 2 * shape1[1]
        if not self.reduce0 and shape0[1] != shape1[1]:
            raise ValueError(f"{self.name}: cell inputs have incompatible resolutions "
                             f"{shape0[1:3]} and {shape1[1:3]}.")
        self.layer0 = self.layer1 = None
        if self.reduce0:
            self.layer0 = FactorizedReduction(self.filters, name="reduce_input0")
        elif shape0[-1] != self.filters:
            self.layer0 = ReLUConvBN(self.filters, name="calibrate_input0")
        if shape1[-1] != self.filters:
            self.layer1 = ReLUConvBN(self.filters, name="calibrate_input1")
        for layer, shape in ((self.layer0, shape0), (self.layer1, shape1)):
            if layer is not None:
                layer.build(shape)

    def call(self, inputs, training=None):
        x0, x1 = inputs
        if self.reduce0:
            x0 = self.layer0(tf.nn.relu(x0), training=training)
        elif self.layer0 is not None:
            x0 = self.layer0(x0, training=training)
        if self.layer1 is not None:
            x1 = self.layer1(x1, training=training)
        return [x0, x1]

    def compute_output_shape(self, input_shape):
        shape1 = tuple(input_shape[1])
        return [shape1[:-1] + (self.filters,)] * 2

    def get_config(self):
        return {**super().get_config(), "filters": self.filters}


@keras.saving.register_keras_serializable(PACKAGE)
class CellOutput(keras.layers.Layer):
    """ReLU -> 1x1 conv -> BN over the concatenation of the cell's unused nodes.

    The official search stores the 1x1 kernel per node (``[num_nodes + 2, C, C]``), so
    one set of weights serves every architecture. With ``per_node_kernels=False`` a
    single ``[C, C]`` kernel serves every node: the output is then ReLU of the summed
    unused nodes through one 1x1 conv, and that kernel trains at every step whichever
    nodes the architecture leaves unused. The unused indices may be a tensor
    (supernet) or a list (fixed model).
    """

    def __init__(self, filters: int, num_nodes: int, per_node_kernels: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.num_nodes = filters, num_nodes
        self.per_node_kernels = per_node_kernels
        self.bn = batch_norm()

    def build(self, input_shape):
        rows = (self.num_nodes + 2,) if self.per_node_kernels else ()
        self.kernel = self.add_weight(
            shape=rows + (self.filters, self.filters),
            initializer=keras.initializers.RandomNormal(stddev=(2.0 / self.filters) ** 0.5),
            name="kernel")
        self.bn.build((None, None, None, self.filters))

    def call(self, nodes, unused, training=None):
        """``nodes``: list of num_nodes + 2 tensors; ``unused``: the indices of the nodes
        to combine, a list (fixed architecture) or an int tensor (supernet)."""
        if isinstance(unused, (list, tuple)):
            parts = [self._part(nodes[k], k) for k in unused]
        else:
            # One cond per node, so only unused nodes are computed and no stack of all
            # nodes is copied (1x1 conv on a concatenation = sum of per-node 1x1 convs;
            # every part has the node's shape, C channels).
            is_unused = tf.reduce_max(tf.one_hot(unused, len(nodes), dtype=tf.int32), 0) > 0
            parts = [tf.cond(is_unused[k], lambda k=k, node=node: self._part(node, k),
                             lambda node=node: tf.zeros_like(node))
                     for k, node in enumerate(nodes)]
        combined = tf.add_n(parts)
        if not self.per_node_kernels:
            combined = self._project(combined, self.kernel)
        return self.bn(combined, training=training)

    def _part(self, node, k):
        """Node ``k``'s share of the output before BN (before the shared projection)."""
        node = tf.nn.relu(node)
        return self._project(node, self.kernel[k]) if self.per_node_kernels else node

    @staticmethod
    def _project(x, kernel):
        return tf.einsum("nhwc,cd->nhwd", x, kernel)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "num_nodes": self.num_nodes,
                "per_node_kernels": self.per_node_kernels}
