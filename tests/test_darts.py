"""DARTS: genotypes, mixed ops, derivation, the second-order gradient, search, final net."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import assert_reloads_in_a_fresh_process, make_splits
from enas_tf.config import SearchConfig
from enas_tf.models.darts_final import FinalDartsNetwork
from enas_tf.models.summary import trainable_parameters
from enas_tf.search_spaces.base import InvalidArchitectureError
from enas_tf.search_spaces.darts import (PRIMITIVES, PUBLISHED_GENOTYPES, DartsSearchSpace,
                                         edge_index)
from enas_tf.layers.darts_ops import make_primitive
from enas_tf.layers.ops import batch_norm
from enas_tf.supernet.darts import DartsSupernet
from enas_tf.supernet.darts_edges import MixedEdge
from enas_tf.loops.search import Search

SPACE = DartsSearchSpace()


@pytest.mark.parametrize("name", sorted(set(PUBLISHED_GENOTYPES) - {"GDAS_F1"}))
def test_published_genotypes_round_trip_in_darts_notation_and_json(name):
    arc = SPACE.from_string(name)
    assert len(arc) == 32
    assert SPACE.from_string(SPACE.to_genotype(arc)) == arc
    assert SPACE.from_string(PUBLISHED_GENOTYPES[name]) == arc
    assert SPACE.from_json(json.loads(json.dumps(SPACE.to_json(arc)))) == arc
    assert SPACE.from_string(SPACE.to_string(arc)) == arc


def test_darts_v2_reads_as_published():
    normal, reduce = SPACE.split(SPACE.from_string("DARTS_V2"))
    ops = SPACE.ops
    # normal (sep_conv_3x3,0) (sep_conv_3x3,1) | ... | (skip_connect,0) (dil_conv_3x3,2)
    assert (normal[0], ops[normal[1]], normal[2], ops[normal[3]]) == (
        0, "sep_conv_3x3", 1, "sep_conv_3x3")
    assert (normal[12], ops[normal[13]], normal[14], ops[normal[15]]) == (
        0, "skip_connect", 2, "dil_conv_3x3")
    assert ops[reduce[1]] == "max_pool_3x3"


@pytest.mark.parametrize("text, message", [
    ("Genotype(normal=[('sep_conv_3x3', 0)], reduce=[])", "needs 8 \\(op, input\\) pairs"),
    (PUBLISHED_GENOTYPES["DARTS_V2"].replace("('sep_conv_3x3', 0)", "('none', 0)", 1),
     "normal/node2/op1: a genotype cannot keep 'none'"),
    (PUBLISHED_GENOTYPES["DARTS_V2"].replace("('sep_conv_3x3', 0)", "('conv_7x7', 0)", 1),
     "normal/node2/op1: unknown op 'conv_7x7'"),
    (PUBLISHED_GENOTYPES["DARTS_V2"].replace("('dil_conv_3x3', 2)", "('dil_conv_3x3', 5)", 1),
     r"normal/node5/input2\): 5 is out of range \[0, 4\]"),
    (PUBLISHED_GENOTYPES["DARTS_V2"].replace("normal_concat=[2, 3, 4, 5]",
                                             "normal_concat=[4, 5]", 1), "normal_concat"),
])
def test_bad_genotypes_are_named(text, message):
    with pytest.raises(InvalidArchitectureError, match=message):
        SPACE.from_string(text)


def test_derivation_keeps_the_two_strongest_non_none_edges_and_ops():
    alpha = np.zeros((14, 8))
    alpha[:, PRIMITIVES.index("none")] = 10.0  # the strongest everywhere: must be ignored
    expected = []
    picks = {2: [(1, "sep_conv_5x5"), (0, "max_pool_3x3")],
             3: [(2, "dil_conv_3x3"), (0, "skip_connect")],
             4: [(3, "avg_pool_3x3"), (1, "sep_conv_3x3")],
             5: [(4, "dil_conv_5x5"), (2, "sep_conv_3x3")]}
    for node, pairs in picks.items():
        for strength, (source, op) in zip((3.0, 2.0), pairs):
            alpha[edge_index(node, source), PRIMITIVES.index(op)] = strength
            expected += [source, SPACE.ops.index(op)]
    arc = SPACE.derive(alpha, alpha)
    assert arc[:16] == tuple(expected) == arc[16:]


def _reference_primitive(name, strides, edge, x):
    """DARTS primitive ``name`` as the Keras layer of ``enas_tf.layers.darts_ops`` (the
    final network's, built like the reference), with ``edge``'s weights."""
    layer = make_primitive(name, 4, strides, affine=False)
    if layer is None:
        return x
    if "pool" in name:  # the search network's MixedOp adds a parameter-free BN after pools
        return batch_norm(affine=False)(layer(x), training=True)
    layer(x, training=True)  # builds it
    kernels = {"sep_conv_3x3": edge.kernels[0:4], "sep_conv_5x5": edge.kernels[4:8],
               "dil_conv_3x3": edge.kernels[8:10], "dil_conv_5x5": edge.kernels[10:12],
               "skip_connect": edge.kernels[12:14]}.get(name, [])
    convs = [v for v in layer.trainable_variables]
    assert len(convs) == len(kernels), name
    for variable, kernel in zip(convs, kernels):
        variable.assign(kernel)
    return layer(x, training=True)


@pytest.mark.kernels
@pytest.mark.parametrize("strides", [1, 2])
def test_a_mixed_edge_is_the_weighted_sum_of_the_reference_primitives(strides):
    keras.utils.set_random_seed(0)
    edge = MixedEdge(4, strides)
    x = tf.random.normal([3, 8, 8, 4], seed=1)
    mixing = tf.nn.softmax(tf.random.normal([8], seed=3))
    out = edge(x, mixing)
    expected = sum(mixing[o] * _reference_primitive(name, strides, edge, x)
                   for o, name in enumerate(PRIMITIVES) if name != "none")
    assert out.shape == (3, 8 // strides, 8 // strides, 4)
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-4, atol=1e-5)


def test_a_one_hot_mixing_runs_the_genotype_alone():
    """Mixing weights with one 1 per kept (edge, op) make every other op irrelevant:
    changing the weights of an op the genotype does not keep changes nothing."""
    keras.utils.set_random_seed(0)
    supernet = DartsSupernet(SPACE, num_cells=3, filters=4, num_classes=4).build_for((8, 8, 3))
    arc = SPACE.from_string("DARTS_V2")
    mixing = supernet.arch_input(arc)
    images = tf.random.normal([4, 8, 8, 3], seed=2)
    before = supernet(images, mixing).numpy()
    # DARTS_V2's normal cell never uses sep_conv_5x5 (kernels 4:8 of every edge).
    for cell in supernet.cells:
        if not cell.reduction:
            for edge in cell.edges:
                for kernel in edge.kernels[4:8]:
                    kernel.assign(kernel * 3.0 + 1.0)
    np.testing.assert_allclose(supernet(images, mixing).numpy(), before, rtol=1e-5, atol=1e-6)


def _darts_search(tmp_path, **overrides):
    values = dict(dataset="digits", num_layers=3, filters=4, batch_size=8, num_epochs=1,
                  steps_per_epoch=2, num_valid=16, derive_random_samples=2, log_every=1,
                  verbose=0, output_dir=str(tmp_path), seed=1)
    values.update(overrides)
    return Search(SearchConfig.for_space("darts", **values), make_splits(32, 16, size=8))


def _exact_moments(x, axes):
    mean = tf.reduce_mean(x, axes)
    return mean, tf.reduce_mean(tf.square(x - mean), axes)


@pytest.mark.kernels
def test_second_order_gradient_matches_a_direct_computation(tmp_path, float64, monkeypatch):
    """The unrolled gradient against autodiff through the virtual step
    w' = w - xi (momentum * buf + grad_w L_train + wd * w), on a tiny supernet in float64.
    With a small finite-difference radius the two agree closely; at DARTS's radius (0.01
    / ||v||) the finite difference is only an approximation (on this tiny network a
    coarse one), so that is checked for running, not for accuracy.

    ``tf.nn.moments`` stops the gradient through the mean inside the variance: exact
    first derivatives (all the finite difference needs) but not second ones, which the
    direct computation needs, so batch norm uses exact moments here (float64 batch norm
    takes the moments path, not the fused kernel)."""
    monkeypatch.setattr("enas_tf.supernet.shared_ops.cross_replica_moments", _exact_moments)
    search = _darts_search(tmp_path, unrolled=True, lr_max=1.0, weight_decay=3e-4)
    method, supernet = search.method, search.supernet
    for w in supernet.trainable_variables:  # a nonzero momentum buffer, as mid-training
        search.optimizer.momentum_buffer(w).assign(
            0.1 * tf.random.normal(w.shape, seed=5, dtype=w.dtype))
    train = next(iter(search.data.dataset("train", 8, shuffle_seed=1)))
    valid = next(iter(search.data.dataset("valid", 8, shuffle_seed=2)))
    ours, _, _ = search.distribution.run(method.unrolled_gradients,
                                     args=(*valid, *train), kwargs={"radius": 1e-6})

    weights, alphas = supernet.trainable_variables, list(method.alphas.values())
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            train_loss, _ = method._ce(*train)
        grads = inner.gradient(train_loss, weights)
        unrolled = [w - 1.0 * (0.9 * search.optimizer.momentum_buffer(w) + g + 3e-4 * w)
                    for w, g in zip(weights, grads)]
        with keras.StatelessScope(state_mapping=list(zip(weights, unrolled))):
            valid_loss, _ = method._ce(*valid)
    direct = outer.gradient(valid_loss, alphas)
    with tf.GradientTape() as tape:  # first order at w': what the correction changes
        with keras.StatelessScope(state_mapping=list(zip(weights, unrolled))):
            loss, _ = method._ce(*valid)
    first_order = tape.gradient(loss, alphas)

    flat = lambda gs: np.concatenate([np.ravel(g) for g in gs])  # noqa: E731
    correction = np.linalg.norm(flat(direct) - flat(first_order))
    assert correction > 0.05 * np.linalg.norm(flat(direct))  # the test can tell them apart
    assert np.linalg.norm(flat(ours) - flat(direct)) < 1e-3 * correction
    darts_radius, _, _ = search.distribution.run(method.unrolled_gradients, args=(*valid, *train))
    assert np.all(np.isfinite(flat(darts_radius)))


@pytest.mark.slow
def test_tiny_search_resumes_with_its_architecture_weights(tmp_path):
    first = _darts_search(tmp_path)
    initial = {cell: a.numpy() for cell, a in first.method.alphas.items()}
    first.run()
    alphas = {cell: a.numpy() for cell, a in first.method.alphas.items()}
    for cell, value in alphas.items():  # two Adam steps of lr 3e-4 moved every weight
        assert np.median(np.abs(value - initial[cell])) > 1e-4
    second = _darts_search(tmp_path, num_epochs=2)
    assert second.restore() == 1
    for cell, value in alphas.items():
        np.testing.assert_array_equal(second.method.alphas[cell].numpy(), value)
    assert int(second.method.arch_optimizer.iterations) == 2
    result = second.run()
    saved = json.loads((tmp_path / "derived_arc.json").read_text())
    assert SPACE.from_string(saved["genotype"]) == tuple(result["arc"])
    assert saved["order"] == "first" and len(saved["alphas"]["normal"]) == 14
    history = json.loads((tmp_path / "history.json").read_text())
    assert [r["epoch"] for r in history] == [1, 2]
    assert 0.0 <= history[-1]["arch_accuracy"] <= 1.0 and history[-1]["arch_entropy"] > 0


@pytest.mark.slow
def test_darts_v2_counts_as_darts_does_and_reloads(tmp_path):
    """DARTS's train.py prints "param size = 3.349342MB" for DARTS_V2 at 20 cells, C=36
    (without the auxiliary head); a fact of the reference network."""
    model = FinalDartsNetwork(SPACE.from_string("DARTS_V2")).build_for((32, 32, 3))
    assert trainable_parameters(model) - trainable_parameters(model.aux_head) == 3_349_342
    small = FinalDartsNetwork(SPACE.from_string("DARTS_V1"), num_cells=3, filters=4,
                              num_classes=4, use_aux_head=False).build_for((8, 8, 3))
    assert_reloads_in_a_fresh_process(small, tmp_path, "FinalDartsNetwork")


def test_strategy_and_space_must_fit():
    with pytest.raises(ValueError, match="strategy enas does not search the darts space"):
        SearchConfig.for_space("darts", strategy="enas").validate()
    with pytest.raises(ValueError, match="strategy darts does not search the micro space"):
        SearchConfig(strategy="darts").validate()
    with pytest.raises(ValueError, match="unrolled .* applies to strategy darts"):
        SearchConfig(unrolled=True).validate()
