"""GDAS: the straight-through Gumbel sample, one op per edge, the temperature, the fixed
reduction cell (GDAS-FRC) and searches of the DARTS spaces."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import enas_tf.supernet.darts_edges as darts_edges
from conftest import assert_reloads_in_a_fresh_process, make_splits
from enas_tf.config import SearchConfig
from enas_tf.layers.gdas_reduction import GdasReductionCell
from enas_tf.models.darts_final import FinalDartsNetwork
from enas_tf.models.summary import trainable_parameters
from enas_tf.search_spaces.base import InvalidArchitectureError
from enas_tf.search_spaces.darts import PRIMITIVES, DartsSearchSpace
from enas_tf.strategies.gdas import gumbel_noise, straight_through_sample, tau_at
from enas_tf.supernet.darts import DartsSupernet
from enas_tf.supernet.darts_edges import MixedEdge
from enas_tf.loops.search import Search

FRC = DartsSearchSpace(fixed_reduction=True)


@pytest.mark.parametrize("tau", [10.0, 1.0, 0.1])
def test_the_straight_through_gradient_is_the_soft_gradient(tau):
    """Forward: exactly one-hot at the argmax of the perturbed logits. Backward: the
    gradient of any loss of the sample is that of the same loss of the softmax."""
    alpha = tf.Variable(tf.random.normal([6, 5], seed=1))
    noise = gumbel_noise(tf.random.Generator.from_seed(2), [6, 5])
    upstream = tf.random.normal([6, 5], seed=3)
    with tf.GradientTape(persistent=True) as tape:
        sample = straight_through_sample(alpha, noise, tau)
        soft = tf.nn.softmax((tf.nn.log_softmax(alpha) + noise) / tau)
        hard_loss, soft_loss = (tf.reduce_sum(upstream * w) for w in (sample.weights, soft))
    np.testing.assert_allclose(sample.weights.numpy(), tf.one_hot(sample.index, 5).numpy(),
                               atol=1e-6)
    np.testing.assert_array_equal(sample.index.numpy(),
                                  np.argmax(tf.nn.log_softmax(alpha) + noise, axis=-1))
    np.testing.assert_allclose(tape.gradient(hard_loss, alpha).numpy(),
                               tape.gradient(soft_loss, alpha).numpy(), rtol=1e-5, atol=1e-7)


def test_gumbel_noise_is_finite_and_gumbel_distributed():
    noise = gumbel_noise(tf.random.Generator.from_seed(0), [200000]).numpy()
    assert np.isfinite(noise).all()
    assert abs(noise.mean() - 0.5772) < 0.01  # Euler-Mascheroni: the Gumbel mean
    assert abs(noise.std() - np.pi / np.sqrt(6)) < 0.01


def test_the_temperature_falls_linearly_from_tau_max_to_tau_min():
    taus = [tau_at(epoch, 5, 10.0, 0.1) for epoch in range(5)]
    np.testing.assert_allclose(taus, [10.0, 7.525, 5.05, 2.575, 0.1])
    assert tau_at(0, 1, 10.0, 0.1) == 10.0


def _counting(monkeypatch, module, name):
    """Replaces ``module.name(column, x, ...)`` by a version that counts, per column,
    the runs that really execute (a variable incremented inside the branch)."""
    counts = tf.Variable(tf.zeros([len(PRIMITIVES)], tf.int32))
    original = getattr(module, name)

    def counted(column, x, *args, **kwargs):
        with tf.control_dependencies([counts.scatter_nd_add([[column]], [1])]):
            return tf.identity(original(column, x, *args, **kwargs))

    monkeypatch.setattr(module, name, counted)
    return counts


@pytest.mark.kernels
@pytest.mark.parametrize("strides", [1, 2])
def test_a_sampled_darts_edge_runs_only_its_op_and_equals_the_one_hot_mixture(monkeypatch,
                                                                             strides):
    keras.utils.set_random_seed(0)
    edge = MixedEdge(4, strides)
    edge.build((None, 8, 8, 4))
    x = tf.random.normal([3, 8, 8, 4], seed=1)
    counts = _counting(monkeypatch, darts_edges, "primitive")
    # Fresh traces of the edge bodies, so they call the counting primitive.
    sampled = tf.function(darts_edges.sampled_edge.python_function)
    mixed = tf.function(darts_edges.mixed_edge.python_function)
    weights = edge.weight_tensors()
    for column in range(len(PRIMITIVES)):
        row = tf.one_hot(column, len(PRIMITIVES))
        before = counts.numpy().copy()
        out = sampled(x, tf.nn.relu(x), row, tf.constant(column), weights, strides)
        np.testing.assert_array_equal(counts.numpy() - before, np.eye(len(PRIMITIVES))[column])
        expected = mixed(x, tf.nn.relu(x), row, weights, strides)
        np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.kernels
@pytest.mark.parametrize("network", ["darts", "gdas"])
def test_gdas_gradients_reach_every_alpha_but_only_the_sampled_ops_weights(network):
    """Through the straight-through weights every alpha gets a gradient (in AutoDL's
    network, through the chosen weight's softmax); weights of ops no edge sampled get
    none (their branch never ran)."""
    keras.utils.set_random_seed(0)
    space = DartsSearchSpace()
    supernet = DartsSupernet(space, num_cells=3, filters=4, num_classes=4,
                             network=network).build_for((8, 8, 3))
    alphas = {cell: tf.Variable(tf.random.normal(shape, stddev=1e-3, seed=i))
              for i, (cell, shape) in enumerate(space.weight_shapes.items())}
    rng = tf.random.Generator.from_seed(5)
    with tf.GradientTape() as tape:
        mixing = {cell: straight_through_sample(a, gumbel_noise(rng, a.shape), 1.0)
                  for cell, a in alphas.items()}
        logits = supernet(tf.random.normal([4, 8, 8, 3], seed=2), mixing, training=True)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=tf.constant([0, 1, 2, 3]), logits=logits))
    edges = [(cell.reduction, edge) for cell in supernet.cells for edge in cell.edges]
    grads = tape.gradient(loss, [*alphas.values()] + [k for _, e in edges for k in e.kernels])
    index = {cell: m.index.numpy() for cell, m in mixing.items()}
    for cell, grad in zip(alphas, grads[:2]):
        # AutoDL's form on this space: an edge that sampled `none` outputs zeros, so its
        # row learns nothing from the step; every other row gets a gradient everywhere.
        reached = (index[cell] != PRIMITIVES.index("none") if network == "gdas"
                   else np.ones(len(index[cell]), bool))
        assert np.all(np.abs(grad.numpy()[reached]) > 0)
        assert np.all(grad.numpy()[~reached] == 0)
    kernel_grads = iter(grads[2:])
    for i, (reduction, edge) in enumerate(edges):
        cell_type, row = ("reduce" if reduction else "normal"), i % 14
        sampled = PRIMITIVES[index[cell_type][row]]
        names = [k.name for k in edge.kernels]
        for name, grad in zip(names, [next(kernel_grads) for _ in names]):
            ran = name.startswith(sampled)
            norm = 0.0 if grad is None else float(tf.norm(grad))
            assert (norm > 0) == ran, (edge.name, name, sampled)


@pytest.mark.kernels
@pytest.mark.parametrize("reduction_prev", [False, True])
def test_the_fixed_reduction_cell_halves_the_resolution_into_4c_channels(reduction_prev):
    keras.utils.set_random_seed(0)
    cell = GdasReductionCell(16, reduction_prev)
    s0 = tf.random.normal([2, 16 if reduction_prev else 8, 16 if reduction_prev else 8, 24])
    out = cell([s0, tf.random.normal([2, 8, 8, 20])], training=True)
    assert out.shape == (2, 4, 4, 64)
    with pytest.raises(ValueError, match="divisible by 8"):
        GdasReductionCell(12, False)


def test_frc_genotypes_hold_only_the_normal_cell():
    arc = FRC.from_string("GDAS_F1")
    assert len(arc) == 16 and FRC.from_string(FRC.to_genotype(arc)) == arc
    assert "reduce=None" in FRC.to_genotype(arc)
    with pytest.raises(InvalidArchitectureError, match="only the normal cell"):
        FRC.from_string("DARTS_V2")
    with pytest.raises(InvalidArchitectureError, match="darts_frc"):
        DartsSearchSpace().from_string("GDAS_F1")


def test_published_gdas_cells_count_as_published():
    """GDAS_V1 at the DARTS final settings (20 cells, C=36) and GDAS_F1 with the fixed
    reduction cell (the paper: 2.5M parameters)."""
    v1 = FinalDartsNetwork(DartsSearchSpace().from_string("GDAS_V1"), use_aux_head=False)
    f1 = FinalDartsNetwork(FRC.from_string("GDAS_F1"), use_aux_head=False,
                           fixed_reduction=True)
    assert trainable_parameters(v1.build_for((32, 32, 3))) == 3_368_782
    assert trainable_parameters(f1.build_for((32, 32, 3))) == 2_543_014


def test_a_frc_network_reloads_with_its_fixed_reduction_cell(tmp_path):
    small = FinalDartsNetwork(FRC.from_string("GDAS_F1"), num_cells=3, filters=8,
                              num_classes=4, use_aux_head=False, fixed_reduction=True)
    assert_reloads_in_a_fresh_process(small.build_for((8, 8, 3)), tmp_path,
                                      "FinalDartsNetwork")


@pytest.mark.kernels  # the grouped convolutions' gradient, on both kernel paths
@pytest.mark.parametrize("space", [pytest.param("darts", marks=pytest.mark.slow),
                                   "darts_frc"])
def test_tiny_gdas_search_resumes(tmp_path, space):
    values = dict(strategy="gdas", dataset="digits", num_layers=3, filters=4 if space == "darts"
                  else 8, batch_size=8, steps_per_epoch=2, num_valid=16,
                  derive_random_samples=2, log_every=1, verbose=0, output_dir=str(tmp_path),
                  seed=1, tau_max=4.0, tau_min=1.0)
    splits = make_splits(32, 16, size=8)
    first = Search(SearchConfig.for_space(space, num_epochs=1, **values), splits)
    first.run()
    alphas = {cell: a.numpy() for cell, a in first.method.alphas.items()}
    again = Search(SearchConfig.for_space(space, num_epochs=2, **values), splits)
    assert again.restore() == 1
    for cell, alpha in again.method.alphas.items():
        np.testing.assert_array_equal(alpha.numpy(), alphas[cell])
    result = again.run()
    assert result["epochs_trained"] == 2 and result["strategy"] == "gdas"
    assert [round(h["arch_tau"], 6) for h in again.history] == [4.0, 1.0]
    assert (again.search_space.from_string(result["genotype"]) == tuple(result["arc"]))
