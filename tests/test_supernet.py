import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import assert_one_trace_for_many_architectures
from enas_tf.controllers.micro_controller import MicroController
from enas_tf.layers.cell_io import CellOutput
from enas_tf.search_spaces.micro import MicroSearchSpace, unused_nodes
from enas_tf.supernet.micro import MicroSupernet, MicroSupernetCell
from enas_tf.supernet.shared_ops import SharedSepConv

pytestmark = pytest.mark.kernels  # CI reruns these with oneDNN on

SPACE = MicroSearchSpace(2)


def _supernet(**kwargs):
    keras.utils.set_random_seed(0)
    return MicroSupernet(SPACE, num_layers=1, filters=4, num_classes=4, use_aux_head=False,
                         **kwargs).build_for((8, 8, 3))


def test_new_architectures_do_not_retrace():
    assert_one_trace_for_many_architectures(_supernet(), MicroController(SPACE), SPACE)


def test_gradients_reach_only_the_chosen_ops():
    supernet = _supernet()
    arc = (1, 0, 0, 4,  2, 1, 1, 2,   0, 1, 1, 3,  0, 0, 2, 0)
    images = tf.random.normal([4, 8, 8, 3])
    with tf.GradientTape() as tape:
        logits = supernet(images, arc=tf.constant(arc), training=True)
        loss = tf.reduce_sum(logits * tf.random.normal(logits.shape))
    variables = supernet.trainable_variables
    grads = dict(zip([id(v) for v in variables], tape.gradient(loss, variables)))

    def grad_of(variable):
        g = grads[id(variable)]
        return np.zeros(variable.shape) if g is None else tf.convert_to_tensor(g).numpy()

    checked = 0
    for cell in supernet.cells:
        cell_arc = arc[:8] if "normal" in cell.name else arc[8:]
        chosen = {(cell_arc[4 * n + 2 * slot + 1],
                   int(cell.row(n, slot, cell_arc[4 * n + 2 * slot])))
                  for n in range(2) for slot in range(2)}  # (op, table row) of each slot
        for op_id, layer in enumerate(cell.sep_convs):
            for table in layer.depthwise + layer.pointwise + layer.gamma + layer.beta:
                row_norms = np.abs(grad_of(table)).reshape(table.shape[0], -1).sum(1)
                for row, norm in enumerate(row_norms):
                    assert (norm > 0) == ((op_id, row) in chosen), (cell.name, op_id, row)
                    checked += 1
        kernel_rows = np.abs(grad_of(cell.output_combine.kernel)).reshape(4, -1).sum(1)
        unused = unused_nodes(cell_arc, 2)
        assert [i for i, norm in enumerate(kernel_rows) if norm > 0] == unused
    assert checked > 100


def test_layer_structure_matches_official_weight_layout():
    supernet = MicroSupernet(
        SPACE, num_layers=3, filters=4, num_classes=4, use_aux_head=False).build_for((8, 8, 3))
    # num_layers + 2 cells; reductions at num_layers // 3 and 2 * (num_layers // 3) + 1.
    assert supernet.reduction_ids == (1, 3)
    assert [c.filters for c in supernet.cells] == [4, 8, 8, 16, 16]
    assert [c.name.split("_")[1] for c in supernet.cells] == [
        "normal", "reduce", "normal", "reduce", "normal"]
    cell = supernet.cells[0]
    assert isinstance(cell, MicroSupernetCell)
    # One table per op and cell: a row per (node, slot, source), as the official code's
    # per-slot [num_sources, ...] variables stacked; node i has i sources.
    sep3, sep5 = cell.sep_convs
    assert isinstance(sep3, SharedSepConv) and sep3.depthwise[0].shape == (10, 3, 3, 4, 1)
    assert sep5.depthwise[0].shape == (10, 5, 5, 4, 1) and sep5.pointwise[1].shape == (10, 1, 1, 4, 4)
    assert cell.row_offsets == [(0, 2), (4, 7)]  # node 2: rows 0-3, node 3: rows 4-9
    assert int(cell.row(1, 1, 2)) == 9
    assert isinstance(cell.output_combine, CellOutput)
    assert cell.output_combine.kernel.shape == (4, 4, 4)


def test_missing_architecture_and_small_images_are_clear_errors():
    with pytest.raises(ValueError, match="needs an architecture"):
        _supernet()(tf.zeros([1, 8, 8, 3]))
    with pytest.raises(ValueError, match="auxiliary head needs feature maps of at least 5x5"):
        MicroSupernet(SPACE, num_layers=1, filters=4, use_aux_head=True).build_for((8, 8, 3))


def test_compact_weight_sharing_trains_one_row_whatever_the_source():
    supernet = _supernet(weight_sharing="compact")
    arc = (1, 0, 0, 4,  2, 1, 1, 2,   0, 1, 1, 3,  0, 0, 2, 0)
    cell = supernet.cells[0]
    c = cell.filters
    sep3, _ = cell.sep_convs
    assert sep3.depthwise[0].shape == (4, 3, 3, c, 1)  # a row per slot, for every source
    assert cell.output_combine.kernel.shape == (c, c)  # one kernel for every node
    with tf.GradientTape() as tape:
        logits = supernet(tf.random.normal([4, 8, 8, 3]), arc=tf.constant(arc), training=True)
        loss = tf.reduce_sum(logits * tf.random.normal(logits.shape))
    variables = supernet.trainable_variables
    grads = dict(zip([id(v) for v in variables], tape.gradient(loss, variables)))
    for cell in supernet.cells:
        cell_arc = arc[:8] if "normal" in cell.name else arc[8:]
        for op_id, table in enumerate(cell.sep_convs):
            grad = grads[id(table.pointwise[0])]
            rows = np.zeros(4) if grad is None else np.abs(
                tf.convert_to_tensor(grad).numpy()).reshape(4, -1).sum(1)
            for n in range(2):
                for slot in range(2):
                    trained = rows[2 * n + slot] > 0  # whatever the slot's source
                    assert trained == (cell_arc[4 * n + 2 * slot + 1] == op_id), (
                        cell.name, n, slot, op_id)
        assert float(tf.reduce_sum(tf.abs(grads[id(cell.output_combine.kernel)]))) > 0


def test_unknown_weight_sharing_is_refused():
    with pytest.raises(ValueError, match="weight_sharing must be one of official, compact"):
        MicroSupernet(SPACE, weight_sharing="per_op")


def test_branch_max_pool_matches_max_pool_inside_a_switch_case():
    """The supernet's max pool (gradient recomputed for speed) gives max pooling's values
    and gradient, also in a switch_case inside a non-inlined function, as in run_slot."""
    from enas_tf.layers.ops import branch_max_pool, pool

    x = tf.random.normal([3, 6, 6, 4], seed=1)
    upstream = tf.random.normal([3, 6, 6, 4], seed=2)

    @tf.function(experimental_attributes={"_noinline": True})
    def slot(x, op):
        return tf.switch_case(op, [lambda: branch_max_pool(x), lambda: tf.identity(x)])

    @tf.function
    def values_and_gradient(fn, x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = fn(x * 2.0)
            loss = tf.reduce_sum(y * upstream)
        return y, tape.gradient(loss, x)

    expected_y, expected_grad = values_and_gradient(lambda t: pool(t, "max"), x)
    y, grad = values_and_gradient(lambda t: slot(t, tf.constant(0)), x)
    np.testing.assert_array_equal(y.numpy(), expected_y.numpy())
    np.testing.assert_allclose(grad.numpy(), expected_grad.numpy(), atol=1e-6)
    assert np.abs(expected_grad.numpy()).sum() > 0
