"""The ENAS recurrent-cell space: encoding, cell, supernet, controller, data, search and
final training of language models."""

import json
import math
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import tiny_text
from enas_tf.config import FinalConfig, SearchConfig
from enas_tf.controllers.rnn_controller import RecurrentCellController
from enas_tf.data import DataNotFoundError, load_dataset
from enas_tf.data.text import (EOS, UNK, batchify, build_vocabulary, encode,
                               load_ptb, random_bptt_lengths, tokenize_ptb_style)
from enas_tf.layers.rnn_cell import EnasRnnCell, cell_step
from enas_tf.models.rnn_lm import RecurrentLanguageModel
from enas_tf.search_spaces.base import InvalidArchitectureError
from enas_tf.search_spaces.rnn import ENAS_LM_CELL, RecurrentCellSearchSpace
from enas_tf.supernet.rnn import RecurrentSupernet
from enas_tf.loops.final_lm import LanguageModelTraining, should_start_averaging
from enas_tf.training.lm_steps import carried_sums, nll_step
from enas_tf.data.metrics import PERPLEXITY
from enas_tf.loops.search import Search

SPACE8 = RecurrentCellSearchSpace(8)


# --- the space ---------------------------------------------------------------------

def test_the_published_enas_lm_cell_loads_and_round_trips():
    arc = SPACE8.from_string(ENAS_LM_CELL)
    assert SPACE8.nodes(arc)[:3] == [(0, "sigmoid"), (1, "tanh"), (2, "relu")]
    assert SPACE8.to_string(arc) == ENAS_LM_CELL
    data = json.loads(json.dumps(SPACE8.to_json(arc)))
    assert SPACE8.from_json(data) == arc
    # Functions by name, in enas_lm's order.
    assert SPACE8.decisions[1].labels == ("tanh", "relu", "sigmoid", "identity")
    assert len(RecurrentCellSearchSpace(9).decisions) == 18


@pytest.mark.parametrize("arc, message", [
    ("0 2 1", "must have 16 integers, got 3"),
    ("0 2 2 0 " + "0 0 " * 6, "position 2 (node2/input): 2 is out of range [0, 1]"),
    ("0 4 " + "0 0 " * 7, "position 1 (node1/function): 4 is out of range [0, 3]"),
    ("0 x " + "0 0 " * 7, "position 1: 'x' is not an integer"),
])
def test_a_malformed_cell_is_refused_naming_position_and_reason(arc, message):
    with pytest.raises(InvalidArchitectureError, match=message.replace("(", r"\(").replace(
            ")", r"\)").replace("[", r"\[").replace("]", r"\]")):
        SPACE8.from_string(arc)


def test_cell_json_refusals_name_the_problem():
    data = SPACE8.to_json(SPACE8.from_string(ENAS_LM_CELL))
    with pytest.raises(InvalidArchitectureError, match="unknown op 'gelu'"):
        SPACE8.from_json({**data, "nodes": [{**data["nodes"][0], "function": "gelu"}]
                          + data["nodes"][1:]})
    with pytest.raises(InvalidArchitectureError, match="num_nodes=8, the search space has 9"):
        RecurrentCellSearchSpace(9).from_json(data)
    with pytest.raises(InvalidArchitectureError, match="'nodes' must list 8 nodes, got 2"):
        SPACE8.from_json({"nodes": data["nodes"][:2]})


# --- the cell ----------------------------------------------------------------------

def test_the_cell_equals_a_hand_computed_step():
    """Two nodes: node 1 reads node 0 through relu, node 2 reads node 0 through identity."""
    rng = np.random.default_rng(3)
    x, h = rng.normal(size=(1, 2)), rng.normal(size=(1, 2))
    w_prev, w1, w2 = rng.normal(size=(4, 4)), rng.normal(size=(2, 4)), rng.normal(size=(2, 4))
    sigmoid = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731

    ht = np.concatenate([x, h], 1) @ w_prev
    s0 = h + sigmoid(ht[:, 2:]) * (np.tanh(ht[:, :2]) - h)
    a1 = s0 @ w1
    s1 = s0 + sigmoid(a1[:, 2:]) * (np.maximum(a1[:, :2], 0) - s0)
    a2 = s0 @ w2
    s2 = s0 + sigmoid(a2[:, 2:]) * (a2[:, :2] - s0)
    expected = (s1 + s2) / 2

    as_ints = cell_step(x, h, w_prev, [w1, w2], [0, 0], [1, 3])
    as_tensors = cell_step(x, h, w_prev, [w1, w2], [tf.constant(0), tf.constant(0)],
                           [tf.constant(1), tf.constant(3)])
    np.testing.assert_allclose(as_ints.numpy(), expected, rtol=1e-10)
    np.testing.assert_allclose(as_tensors.numpy(), expected, rtol=1e-10)


@pytest.mark.kernels
def test_the_supernet_computes_what_the_fixed_model_computes():
    arc = SPACE8.from_string(ENAS_LM_CELL)
    supernet = RecurrentSupernet(SPACE8, vocab_size=30, hidden_size=8).build_for()
    model = RecurrentLanguageModel(arc, vocab_size=30, hidden_size=8).build_for()
    model.embedding.assign(supernet.embedding)
    model.cell.w_prev.assign(supernet.w_prev)
    for node, (prev, function) in enumerate(zip(arc[0::2], arc[1::2])):
        model.cell.node_kernels[node].assign(supernet.node_kernels[node][function, prev])
    tokens = tf.constant(np.random.default_rng(0).integers(0, 30, (3, 7)))
    np.testing.assert_allclose(supernet(tokens, arc=tf.constant(arc)).numpy(),
                               model(tokens).numpy(), atol=1e-5)


@pytest.mark.kernels
def test_gradients_reach_only_the_chosen_kernels():
    space = RecurrentCellSearchSpace(3)
    arc = (0, 1, 0, 3, 1, 2)  # node 2 reads node 0 (identity), node 3 reads node 1 (sigmoid)
    supernet = RecurrentSupernet(space, vocab_size=10, hidden_size=4).build_for()
    tokens = tf.constant(np.random.default_rng(1).integers(0, 10, (2, 5)))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(supernet(tokens, arc=tf.constant(arc)))
    grads = tape.gradient(loss, supernet.node_kernels)
    for node, grad in enumerate(grads):
        grad = tf.convert_to_tensor(grad).numpy()
        norms = np.abs(grad).sum(axis=(2, 3))  # [function, previous node]
        chosen = (arc[2 * node + 1], arc[2 * node])
        assert norms[chosen] > 0
        norms[chosen] = 0
        assert not norms.any(), f"node {node + 1}: gradient outside the chosen kernel"


def test_the_cell_works_in_keras_rnn_and_survives_a_keras_round_trip(tmp_path):
    arc = SPACE8.from_string(ENAS_LM_CELL)
    layer = keras.layers.RNN(EnasRnnCell(arc, units=6), return_sequences=True)
    assert layer(tf.ones([2, 4, 3])).shape == (2, 4, 6)
    model = RecurrentLanguageModel(arc, vocab_size=20, hidden_size=6, drop_hidden=0.2,
                                   drop_cell_input=0.3).build_for()
    tokens = tf.constant([[1, 2, 3, 4]])
    path = str(tmp_path / "lm.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded(tokens).numpy(), model(tokens).numpy(), atol=1e-6)
    assert loaded.arc == model.arc
    # Training-mode dropout masks are fixed within a sequence but change between calls.
    a = model(tokens, training=True).numpy()
    assert not np.allclose(a, model(tokens, training=True).numpy())


# --- the controller ----------------------------------------------------------------

def test_the_controller_samples_valid_cells_and_scores_them_consistently():
    space = RecurrentCellSearchSpace(9)
    controller = RecurrentCellController(space, seed=2)
    seen = set()
    for _ in range(40):
        arc, log_prob, entropy = controller.sample()
        arc = space.validate(arc.numpy())
        seen.add(arc)
        again, _ = controller.evaluate(arc)
        assert float(again) == pytest.approx(float(log_prob), rel=1e-5)
        assert float(entropy) > 0
    assert len(seen) > 30
    probs = controller.probabilities(arc)
    assert [len(p) for p in probs] == [d.num_choices for d in space.decisions]
    # The distance penalty makes nearer previous nodes likelier at initialisation.
    node9 = probs[16]
    assert node9[-1] > node9[0]


# --- data and metric ---------------------------------------------------------------

def test_the_ptb_loader_reads_the_files_the_test_writes(tmp_path):
    (tmp_path / "ptb.train.txt").write_text(" the cat sat \n the dog sat on N mats \n")
    (tmp_path / "ptb.valid.txt").write_text(" the cat ran \n")
    (tmp_path / "ptb.test.txt").write_text(" a dog sat \n")
    (tmp_path / "extra").mkdir()
    with pytest.raises(DataNotFoundError, match="extra/ptb.train.txt does not exist.*"
                       "simple-examples.tgz"):
        load_ptb(str(tmp_path / "extra"))
    # The words of the valid and test files are not in the training vocabulary: PTB has
    # <unk> in its files; here they are refused by name.
    with pytest.raises(ValueError, match="'ran' is not in the vocabulary"):
        load_dataset("ptb", str(tmp_path))
    (tmp_path / "ptb.valid.txt").write_text(" the cat sat \n")
    (tmp_path / "ptb.test.txt").write_text(" the dog sat \n")
    data = load_dataset("ptb", str(tmp_path))
    assert data.vocabulary[:3] == ("<eos>", "sat", "the")
    words = [data.vocabulary[i] for i in data.train]
    assert words == "the cat sat <eos> the dog sat on N mats <eos>".split()
    assert [data.vocabulary[i] for i in data.valid] == "the cat sat <eos>".split()


def test_tokens_vocabulary_and_streams():
    sentences = tokenize_ptb_style(["The 3 cats, don't they?", "", "Cats sat."])
    assert sentences == [["the", "N", "cats", "don't", "they"], ["cats", "sat"]]
    vocabulary = build_vocabulary(sentences, max_size=4)
    assert vocabulary == (EOS, "cats", "N", UNK)
    assert list(encode([["cats", "zebra"]], vocabulary)) == [1, 3, 0]
    assert batchify(np.arange(10), 3).tolist() == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    lengths = random_bptt_lengths(1000, 35, np.random.default_rng(0))
    assert sum(lengths) == 1000 and max(lengths) <= 55 and min(lengths) >= 1
    assert 25 < np.mean(lengths) < 40


def test_bptt_segments_follow_the_streams():
    data = tiny_text()
    streams = batchify(data.train, 4)
    segments = list(data.dataset("train", 4, shuffle_seed=0, augment=True))
    joined = np.concatenate([x.numpy() for x, _ in segments], axis=1)
    np.testing.assert_array_equal(joined, streams[:, :joined.shape[1]])  # in order, no gaps
    assert joined.shape[1] == streams.shape[1] - 1
    for x, y in segments:
        np.testing.assert_array_equal(x.numpy()[:, 1:], y.numpy()[:, :-1])
    assert len({x.shape[1] for x, _ in segments}) > 1  # random lengths
    evaluation = list(data.dataset("valid", 2))
    assert all(x.shape[1] == 6 for x, _ in evaluation[:-1])
    random = next(iter(data.dataset("valid", 2, shuffle_seed=1, repeat=True)))
    assert random[0].shape == (2, 6)


def test_perplexity_of_a_known_sequence():
    vocab = 7
    uniform = tf.zeros([2, 5, vocab])
    total, count = PERPLEXITY.batch_sums(tf.zeros([2, 5], tf.int32), uniform)
    assert float(PERPLEXITY.value(total, count)) == pytest.approx(vocab, rel=1e-6)
    assert float(PERPLEXITY.reward(total, count)) == pytest.approx(80 / vocab, rel=1e-6)
    # Probability 0.5 on the right word everywhere: perplexity 2.
    logits = np.full([1, 4, 3], -1e9, np.float32)
    logits[..., 0] = logits[..., 1] = 0.0
    total, count = PERPLEXITY.batch_sums(tf.zeros([1, 4], tf.int32), tf.constant(logits))
    assert PERPLEXITY.value(float(total), float(count)) == pytest.approx(2.0, rel=1e-6)


def test_carrying_the_state_over_segments_equals_one_pass_over_the_sequence():
    arc = SPACE8.from_string(ENAS_LM_CELL)
    model = RecurrentLanguageModel(arc, vocab_size=12, hidden_size=5).build_for()
    data = tiny_text()
    streams = batchify(data.valid, 2)
    whole = model(streams[:, :-1])
    total, count = PERPLEXITY.batch_sums(streams[:, 1:], whole)
    forward = lambda x, s: model(x, initial_state=s, return_state=True)  # noqa: E731
    carried = carried_sums(forward, data.dataset("valid", 2), 2, 5, nll_step(forward))
    assert carried[1] == float(count)
    assert carried[0] == pytest.approx(float(total), rel=1e-4)


def test_averaged_sgd_starts_when_validation_stops_improving():
    assert not should_start_averaging([9, 8, 7, 6, 5], patience=2)
    assert not should_start_averaging([9, 8, 9], patience=2)  # too few epochs
    assert should_start_averaging([9, 5, 6, 6, 7], patience=2)  # 7 > min(9, 5)
    assert not should_start_averaging([9, 5, 6, 6, 4], patience=2)


# --- the loops ---------------------------------------------------------------------

def _search_config(tmp_path, **values):
    return SearchConfig.for_space(
        "rnn", **{**dict(dataset="python_docs", num_nodes=4, hidden_size=8, batch_size=4,
                         bptt=6, steps_per_epoch=4, num_epochs=1, controller_train_steps=2,
                         controller_num_aggregate=2, derive_num_samples=3,
                         derive_random_samples=2, log_every=2, verbose=0, seed=3,
                         output_dir=str(tmp_path / "search")), **values})


@pytest.mark.parametrize("strategy", ["enas", "random"])
def test_a_tiny_search_runs_resumes_and_does_not_retrace(tmp_path, strategy):
    data = tiny_text()
    Search(_search_config(tmp_path, strategy=strategy), data).run()
    again = Search(_search_config(tmp_path, strategy=strategy, num_epochs=2), data)
    assert again.restore() == 1
    result = again.run()
    assert result["epochs_trained"] == 2 and len(again.history) == 2
    assert again.method.steps.trace_count == 1  # new cells and segment lengths: no retrace
    space = RecurrentCellSearchSpace(4)
    assert space.validate(result["arc"]) == tuple(result["arc"])
    assert result["valid_perplexity"] > 1.0
    assert len(result["random_architectures"]["valid_perplexities"]) == 2
    saved = json.load(open(os.path.join(tmp_path, "search", "derived_arc.json")))
    assert saved["architecture"]["search_space"] == "rnn"
    versus = saved["search_facts"]["derived_vs_random"]
    assert versus["metric"] == "perplexity" and versus["higher_is_better"] is False
    assert "train_perplexity" in again.history[-1]
    if strategy == "enas":  # the rewards' harmonic-mean perplexity, per epoch
        record = again.history[-1]
        assert record["controller_valid_perplexity"] == pytest.approx(
            80.0 / record["controller_accuracy"])
        assert "controller_valid_perplexity" in saved["search_facts"]
    assert os.path.exists(os.path.join(tmp_path, "search", "derived_arc.png"))


def test_the_search_learns_the_tiny_stream(tmp_path):
    data = tiny_text()
    result = Search(_search_config(tmp_path, num_epochs=6, steps_per_epoch=20,
                                   drop_cell_input=0.0, drop_output=0.0, drop_hidden=0.0,
                                   drop_word=0.0, drop_embedding=0.0, dataset="python_docs"),
                    data).run()
    assert result["valid_perplexity"] < 6.0  # 12 words: uniform would be 12


def test_final_training_reports_perplexities_resumes_and_saves_a_keras_model(tmp_path):
    data = tiny_text()
    values = dict(dataset="python_docs", hidden_size=8, batch_size=4, bptt=6, num_epochs=2,
                  asgd_patience=1, verbose=0, output_dir=str(tmp_path / "final"), seed=1,
                  drop_cell_input=0.1, drop_output=0.1)
    arc = SPACE8.from_string(ENAS_LM_CELL)
    LanguageModelTraining(FinalConfig.for_space("rnn", **{**values, "num_epochs": 1}), arc,
                          data).run()
    training = LanguageModelTraining(FinalConfig.for_space("rnn", **values), arc, data)
    result = training.run()
    assert result["epochs_trained"] == 2
    assert 1.0 < result["test_perplexity"] < 12.0 and 1.0 < result["valid_perplexity"] < 12.0
    assert result["parameters"] == 12 * 8 + 16 * 16 + 8 * 8 * 16
    loaded = keras.models.load_model(result["model_file"])
    tokens = tf.constant([[1, 2, 3]])
    np.testing.assert_allclose(loaded(tokens).numpy(), training.model(tokens).numpy(),
                               atol=1e-6)
    history = json.load(open(os.path.join(tmp_path, "final", "history.json")))
    assert [r["epoch"] for r in history] == [1, 2]
    assert math.isfinite(history[-1]["valid_perplexity"])
