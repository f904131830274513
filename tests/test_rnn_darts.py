"""DARTS and GDAS on the recurrent space (quark0/darts ``rnn/``): DARTS's notation of the
cells, its mixed-edge supernet against hand-computed edges, derivation, the
second-order gradient, GDAS's one function per edge, the searches and the final
DARTS_V2 language model."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import tiny_text
from enas_tf.config import FinalConfig, SearchConfig
from enas_tf.loops.final_lm import LanguageModelTraining
from enas_tf.loops.search import Search
from enas_tf.models.rnn_lm import RecurrentLanguageModel
from enas_tf.search_spaces.base import InvalidArchitectureError
from enas_tf.search_spaces.rnn import (ENAS_LM_CELL, PRIMITIVES, RecurrentCellSearchSpace,
                                       edge_index)
from enas_tf.supernet import darts_rnn
from enas_tf.supernet.darts_rnn import DartsRecurrentSupernet
from enas_tf.supernet.mixing import SampledMixing

SPACE8 = RecurrentCellSearchSpace(8)
NP_ACTIVATIONS = {"tanh": np.tanh, "relu": lambda v: np.maximum(v, 0.0),
                  "sigmoid": lambda v: 1.0 / (1.0 + np.exp(-v)), "identity": lambda v: v}


# --- DARTS's notation --------------------------------------------------------------

def test_darts_genotypes_read_and_write_in_darts_notation():
    v2 = SPACE8.from_string("DARTS_V2")
    assert SPACE8.nodes(v2)[:3] == [(0, "sigmoid"), (1, "relu"), (1, "relu")]
    text = SPACE8.notation(v2)
    assert text.startswith("Genotype(recurrent=[('sigmoid', 0), ('relu', 1)")
    assert text.endswith("concat=range(1, 9))")
    assert SPACE8.from_string(text) == v2
    assert SPACE8.from_json(SPACE8.to_json(v2)) == v2
    assert SPACE8.from_json({"genotype": text}) == v2
    # ENAS's 8-node cell is a cell of the same space: DARTS's notation writes it too.
    enas = SPACE8.from_string("ENAS_LM")
    assert SPACE8.from_string(SPACE8.notation(enas)) == enas == SPACE8.from_string(ENAS_LM_CELL)
    # DARTS's transcription of the ENAS cell: 11 nodes averaging six of them.
    enas11 = RecurrentCellSearchSpace(11, "2,5,6,9,10,11")
    arc = enas11.from_string("ENAS")
    assert enas11.notation(arc).endswith("concat=[2, 5, 6, 9, 10, 11])")
    assert enas11.describe(arc).splitlines()[-1] == "h_t = mean(s2, s5, s6, s9, s10, s11)"


@pytest.mark.parametrize("text, message", [
    ("ENAS", "has 11 nodes averaging \\[2, 5, 6, 9, 10, 11\\]; the space has 8 .* "
             "give --num_nodes=11 --rnn_concat=2,5,6,9,10,11"),
    ("DARTS_V3", "unknown recurrent cell name 'DARTS_V3'; known: DARTS_V1"),
    ("Genotype(recurrent=relu, concat=range(1, 9))", "recurrent=\\[\\(function, input\\)"),
    ("Genotype(recurrent=[('relu', 0)], concat=range(1, 9))",
     "concat range\\(1, 9\\) is not a list of node numbers in 1..1"),
    ("Genotype(recurrent=[('none', 0), ('relu', 1), ('relu', 1), ('relu', 1), ('relu', 1), "
     "('relu', 1), ('relu', 1), ('relu', 1)], concat=range(1, 9))",
     "node 1: a derived cell cannot keep 'none'"),
    ("Genotype(recurrent=[('relu', 0), ('relu', 2), ('relu', 1), ('relu', 1), ('relu', 1), "
     "('relu', 1), ('relu', 1), ('relu', 1)], concat=range(1, 9))",
     "position 2 \\(node2/input\\): 2 is out of range \\[0, 1\\]"),
    ("Genotype(recurrent=[('gelu', 0), ('relu', 1), ('relu', 1), ('relu', 1), ('relu', 1), "
     "('relu', 1), ('relu', 1), ('relu', 1)], concat=range(1, 9))",
     "node 1: unknown op 'gelu'; known ops are tanh, relu, sigmoid, identity"),
])
def test_bad_genotypes_are_refused_in_one_line_naming_what(text, message):
    with pytest.raises(InvalidArchitectureError, match=message):
        SPACE8.from_string(text)


def test_a_bad_concat_setting_is_refused():
    with pytest.raises(ValueError, match="rnn_concat: concat must list increasing node "
                                         "numbers in 1..8"):
        FinalConfig.for_space("rnn", num_nodes=8, rnn_concat="3,2").validate()


def test_darts_needs_the_darts_supernet_said_in_one_line():
    with pytest.raises(ValueError, match="darts mixes functions on DARTS's recurrent supernet: "
                                         "give --rnn_supernet=darts"):
        SearchConfig.for_space("rnn", strategy="darts", rnn_supernet="enas",
                               dataset="python_docs").validate()
    config = SearchConfig.for_space("rnn", strategy="darts", dataset="python_docs")
    assert (config.rnn_supernet, config.num_nodes, config.hidden_size, config.batch_size,
            config.weight_decay, config.arch_lr, config.arch_beta1) == (
        "darts", 8, 300, 256, 5e-7, 3e-3, 0.9)


# --- the supernet --------------------------------------------------------------------

def _batch_norm(v):
    return (v - v.mean(0)) / np.sqrt(v.var(0) + 1e-5)


def _hand_step(supernet, x, h, weights):
    """One time step of DARTS's search cell in numpy, edge by edge, function by function."""
    w_prev = supernet.w_prev.numpy()
    kernels = [k.numpy() for k in supernet.node_kernels]
    H = supernet.hidden_size
    ch = np.concatenate([x, h], 1) @ w_prev
    states = [_batch_norm(h + 1 / (1 + np.exp(-ch[:, :H])) * (np.tanh(ch[:, H:]) - h))]
    for node, kernel in enumerate(kernels, start=1):
        total = 0.0
        for source in range(node):
            s = states[source]
            out = s @ kernel
            c, g = 1 / (1 + np.exp(-out[:, :H])), out[:, H:]
            for k, name in enumerate(PRIMITIVES):
                if name != "none":
                    total = total + weights[edge_index(node, source), k] * (
                        s + c * (NP_ACTIVATIONS[name](g) - s))
        states.append(_batch_norm(total))
    return np.mean(states[1:], axis=0)


@pytest.mark.kernels
def test_the_mixed_cell_equals_the_weighted_sum_of_hand_computed_edges():
    space = RecurrentCellSearchSpace(3)
    supernet = DartsRecurrentSupernet(space, vocab_size=7, hidden_size=4, seed=1,
                                      init_range=0.5).build_for()
    rng = np.random.default_rng(0)
    weights = rng.dirichlet(np.ones(5), size=space.num_edges).astype(np.float32)
    x, h = rng.normal(size=(5, 4)).astype(np.float32), rng.normal(size=(5, 4)).astype(np.float32)
    ours = supernet._cell(tf.constant(x), tf.constant(h), tf.constant(weights), None, None)
    np.testing.assert_allclose(ours.numpy(), _hand_step(supernet, x, h, weights), atol=1e-5)


@pytest.mark.kernels
def test_a_cell_runs_the_same_in_sampled_and_in_one_hot_weighted_form():
    space = RecurrentCellSearchSpace(4)
    supernet = DartsRecurrentSupernet(space, vocab_size=9, hidden_size=6, seed=2).build_for()
    arc = space.random_architecture(np.random.default_rng(1))
    tokens = tf.constant(np.random.default_rng(2).integers(0, 9, (3, 5)), tf.int32)
    sampled = supernet.arch_input(arc)
    assert isinstance(sampled, SampledMixing)
    as_integers = supernet(tokens, tf.constant(arc, tf.int32))
    np.testing.assert_allclose(supernet(tokens, sampled).numpy(), as_integers.numpy(), atol=1e-6)
    np.testing.assert_allclose(supernet(tokens, sampled.weights).numpy(), as_integers.numpy(),
                               atol=1e-5)


def _counting_activations(monkeypatch):
    """Every activation, as it runs (not as it is traced), adds the number of values it
    computes."""
    counter = tf.Variable(0, dtype=tf.int64)

    def counted(f):
        def run(v):
            with tf.control_dependencies([counter.assign_add(tf.size(v, tf.int64))]):
                return f(v)
        return run

    monkeypatch.setattr(darts_rnn, "ACTIVATIONS",
                        tuple(counted(f) for f in darts_rnn.ACTIVATIONS))
    return counter


def test_gdas_computes_only_the_sampled_function_of_each_edge(monkeypatch):
    counter = _counting_activations(monkeypatch)
    space = RecurrentCellSearchSpace(3)
    supernet = DartsRecurrentSupernet(space, vocab_size=7, hidden_size=4, seed=1).build_for()
    tokens = tf.zeros([2, 5], tf.int32)
    index = tf.constant([2, 0, 4, 1, 0, 3], tf.int32)  # edges 1 and 4 sample none
    sampled = SampledMixing(tf.one_hot(index, 5), index)
    counter.assign(0)
    tf.function(lambda t: supernet(t, sampled))(tokens)
    values = 2 * 4  # batch x hidden of one edge's activation
    assert int(counter.numpy()) == 5 * 4 * values  # 5 steps x the 4 edges not sampling none
    counter.assign(0)
    tf.function(lambda t: supernet(t, tf.fill([6, 5], 0.2)))(tokens)
    assert int(counter.numpy()) == 5 * 6 * 4 * values  # DARTS: 4 functions of all 6 edges


# --- derivation ----------------------------------------------------------------------

def test_derivation_takes_the_strongest_input_and_function_and_never_none():
    space = RecurrentCellSearchSpace(3)
    alpha = np.zeros([6, 5])
    alpha[edge_index(1, 0)] = [9.0, 1.0, 2.0, 0.0, 0.0]   # none strongest: relu kept
    alpha[edge_index(2, 0)] = [0.0, 0.0, 0.0, 3.0, 0.0]   # sigmoid 3
    alpha[edge_index(2, 1)] = [0.0, 2.9, 0.0, 0.0, 0.0]   # weaker tanh
    alpha[edge_index(3, 0)] = [5.0, 0.0, 0.0, 0.0, 0.0]   # only none is strong here
    alpha[edge_index(3, 2)] = [0.0, 0.0, 0.0, 0.0, 1.0]   # identity from node 2
    assert space.derive(alpha) == (0, 1, 0, 2, 2, 3)
    assert space.nodes(space.derive(alpha)) == [(0, "relu"), (0, "sigmoid"), (2, "identity")]
    with pytest.raises(ValueError, match="must be \\[6, 5\\], got \\[36, 5\\]"):
        space.derive(np.zeros([36, 5]))


# --- the searches --------------------------------------------------------------------

def _search(tmp_path, **values):
    config = SearchConfig.for_space("rnn", **{**dict(
        dataset="python_docs", num_nodes=3, hidden_size=6, batch_size=4, bptt=6,
        steps_per_epoch=3, num_epochs=1, derive_random_samples=2, log_every=1, verbose=0,
        seed=3, output_dir=str(tmp_path / "search")), **values})
    return Search(config, tiny_text())


@pytest.mark.kernels
def test_the_second_order_gradient_matches_autodiff_through_the_virtual_step(tmp_path,
                                                                             float64):
    """The unrolled alpha gradient against autodiff through w' = w - xi (grad_w L_train +
    wd * w) on a tiny recurrent supernet in float64, no dropout, no clipping (a large
    clip norm), a small finite-difference radius."""
    search = _search(tmp_path, strategy="darts", unrolled=True, grad_bound=1e6,
                     weight_decay=1e-3, drop_output=0.0, drop_hidden=0.0, drop_cell_input=0.0,
                     drop_embedding=0.0, lr_max=2.0, lr_min=2.0)
    method, supernet = search.method, search.supernet
    method.start_epoch(0)
    train = next(iter(search.data.dataset("train", 4)))
    valid = next(iter(search.data.dataset("valid", 4)))
    ours, _, _ = method.unrolled_gradients(*valid, *train, radius=1e-7)

    weights, alphas = supernet.trainable_variables, list(method.alphas.values())
    xi = 2.0 * train[1].shape[1] / 6  # the segment's learning rate
    method.objective.carried.states["valid"].assign(tf.zeros_like(method.objective.carried.states["valid"]))
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            train_loss, _ = method._ce(*train, stream="train")
        grads = inner.gradient(train_loss, weights)
        unrolled = [w - xi * (g + 1e-3 * w) for w, g in zip(weights, grads)]
        with keras.StatelessScope(state_mapping=list(zip(weights, unrolled))):
            valid_loss, _ = method._ce(*valid)
    direct = outer.gradient(valid_loss, alphas)
    with tf.GradientTape() as tape:
        method.objective.carried.states["valid"].assign(tf.zeros_like(method.objective.carried.states["valid"]))
        with keras.StatelessScope(state_mapping=list(zip(weights, unrolled))):
            loss, _ = method._ce(*valid)
    first_order = tape.gradient(loss, alphas)

    flat = lambda gs: np.concatenate([np.ravel(g) for g in gs])  # noqa: E731
    correction = np.linalg.norm(flat(direct) - flat(first_order))
    assert correction > 0.05 * np.linalg.norm(flat(direct))
    assert np.linalg.norm(flat(ours) - flat(direct)) < 1e-3 * correction


@pytest.mark.parametrize("strategy, extra", [
    ("darts", {}), ("darts", {"unrolled": True}), ("gdas", {}),
    ("random", {"rnn_supernet": "darts"})])
def test_a_tiny_search_of_each_strategy_resumes_and_derives_a_genotype(tmp_path, strategy,
                                                                       extra):
    first = _search(tmp_path, strategy=strategy, **extra)
    first.run()
    again = _search(tmp_path, strategy=strategy, num_epochs=2, **extra)
    assert again.restore() == 1
    if strategy != "random":
        for cell, alpha in first.method.alphas.items():
            np.testing.assert_array_equal(again.method.alphas[cell].numpy(), alpha.numpy())
    result = again.run()
    assert result["epochs_trained"] == 2 and len(again.history) == 2
    assert again.method.step.experimental_get_tracing_count() == 1  # random segment lengths
    space = RecurrentCellSearchSpace(3)
    assert space.validate(result["arc"]) == tuple(result["arc"])
    saved = json.loads((tmp_path / "search" / "derived_arc.json").read_text())
    assert saved["architecture"]["genotype"] == space.notation(result["arc"])
    assert saved["search_facts"]["derived_vs_random"]["metric"] == "perplexity"
    assert len(result["random_architectures"]["valid_perplexities"]) == 2
    assert os.path.exists(tmp_path / "search" / "derived_arc.png")
    if strategy != "random":
        assert result["genotype"] == space.notation(result["arc"])
        record = again.history[-1]
        assert record["arch_valid_perplexity"] == pytest.approx(80.0 / record["arch_accuracy"])


# --- final training ------------------------------------------------------------------

def test_darts_v2_at_the_final_settings_has_darts_parameter_count():
    """quark0/darts rnn/train.py: embedding 10,000 x 850 (tied), W_0 1,700 x 1,700, eight
    850 x 1,700 kernels and the decoder's bias: 23M."""
    model = RecurrentLanguageModel(SPACE8.from_string("DARTS_V2"), vocab_size=10000,
                                   hidden_size=850, softmax_bias=True).build_for()
    count = sum(int(np.prod(v.shape)) for v in model.trainable_variables)
    assert count == 10000 * 850 + 1700 * 1700 + 8 * 850 * 1700 + 10000 == 22_960_000


def test_darts_final_training_of_the_enas_genotype_saves_and_reloads(tmp_path):
    """DARTS's 11-node ENAS genotype, averaging six nodes, trained with DARTS's coupled
    weight decay and a softmax bias; the .keras file reloads to the same outputs."""
    data = tiny_text()
    config = FinalConfig.for_space(
        "rnn", dataset="python_docs", num_nodes=11, rnn_concat="2,5,6,9,10,11",
        hidden_size=6, batch_size=4, bptt=6, num_epochs=1, steps_per_epoch=3,
        weight_decay=8e-7, l2_reg=0.0, softmax_bias=True, init_range=0.04, verbose=0,
        output_dir=str(tmp_path / "final"), seed=2)
    space = RecurrentCellSearchSpace(11, "2,5,6,9,10,11")
    training = LanguageModelTraining(config, space.from_string("ENAS"), data)
    assert training.optimizer.coupled_weight_decay == 8e-7
    result = training.run()
    assert result["architecture"]["concat"] == [2, 5, 6, 9, 10, 11]
    model = keras.models.load_model(result["model_file"])
    tokens = tf.constant(np.arange(12).reshape(2, 6) % 12, tf.int32)
    np.testing.assert_allclose(model(tokens).numpy(), training.model(tokens).numpy(), atol=1e-5)
    assert model.cell.concat == [2, 5, 6, 9, 10, 11] and model.bias is not None
