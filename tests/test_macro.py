"""The ENAS macro space: encoding, controller, supernet routing, search, final network."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import (assert_one_trace_for_many_architectures, assert_reloads_in_a_fresh_process,
                      make_splits, tiny_config)
from enas_tf.config import FinalConfig, SearchConfig
from enas_tf.controllers.macro_controller import MacroController
from enas_tf.controllers.reinforce import Reinforce
from enas_tf.models.macro_fixed import FinalMacroNetwork, FixedMacroNetwork
from enas_tf.search_spaces.base import InvalidArchitectureError
from enas_tf.search_spaces.macro import (MACRO_OPS, PUBLISHED_ENAS_MACRO_ARC, MacroSearchSpace,
                                         layer_start, pool_layer_ids)
from enas_tf.supernet.macro import MacroSupernet
from enas_tf.loops.final import FinalTraining
from enas_tf.loops.search import Search

SPACE = MacroSearchSpace(4)


def test_published_architecture_and_encoding_round_trip():
    space = MacroSearchSpace(24, num_branches=4)
    arc = space.from_string(PUBLISHED_ENAS_MACRO_ARC)
    assert len(arc) == 300 == space.num_decisions
    layers = space.layers(arc)
    assert [op for op, _ in layers[:4]] == [0, 3, 0, 2]
    assert layers[5] == (3, (0, 1, 3))  # row "3 1 1 0 1 0"
    assert sum(len(skips) for _, skips in layers) == 98 and space.num_skips == 276
    assert space.from_json(space.to_json(arc)) == arc
    assert space.from_json(json.loads(json.dumps(space.to_json(arc)))) == arc
    assert space.from_string(space.to_rows(arc)) == arc == space.from_string(space.to_string(arc))
    assert pool_layer_ids(24) == (7, 15) and pool_layer_ids(12) == (3, 7)
    assert [layer_start(i) for i in range(4)] == [0, 1, 3, 6]


@pytest.mark.parametrize("text, message", [
    ("0 1 0", r"macro architecture must have 10 integers, got 3"),
    ("4 0 0 0 0 0 0 0 0 0", r"position 0 \(layer0/op\): 4 is out of range \[0, 3\]"),
    ("0 0 0 0 2 0 0 0 0 0", r"position 4 \(layer2/skip0\): 2 is out of range \[0, 1\]"),
])
def test_bad_architectures_are_named(text, message):
    with pytest.raises(InvalidArchitectureError, match=message):
        MacroSearchSpace(4, num_branches=4).from_string(text)


def test_bad_json_is_named():
    data = SPACE.to_json(SPACE.random_architecture(np.random.default_rng(0)))
    data.pop("enas_string")
    data["layers"][2]["op"] = "conv_7x7"
    with pytest.raises(InvalidArchitectureError, match="layer2/op: unknown op 'conv_7x7'"):
        SPACE.from_json(data)
    data["layers"][2]["op"] = "conv_3x3"
    data["layers"][2]["skips"] = [2]
    with pytest.raises(InvalidArchitectureError, match=r"layer2/skips: 2 is not an earlier"):
        SPACE.from_json(data)
    with pytest.raises(InvalidArchitectureError, match="for search space 'micro'"):
        SPACE.from_json({"search_space": "micro", "enas_string": "0"})


def test_controller_samples_valid_architectures_and_scores_them_consistently():
    controller = MacroController(SPACE, seed=3)
    arcs = set()
    for _ in range(10):
        arc, log_prob, entropy = controller.sample()
        arcs.add(SPACE.validate(arc.numpy()))
        evaluated, _ = controller.evaluate(arc)
        assert float(evaluated) == pytest.approx(float(log_prob), abs=1e-5)
        assert float(log_prob) < 0 < float(entropy)
    assert len(arcs) > 5
    probs = controller.probabilities(arc.numpy())
    assert [len(p) for p in probs] == [d.num_choices for d in SPACE.decisions]
    assert all(abs(p.sum() - 1) < 1e-5 for p in probs)
    greedy = controller.most_likely().numpy()
    assert all(int(np.argmax(p)) == int(v) for p, v in zip(controller.probabilities(greedy),
                                                           greedy))


@pytest.mark.parametrize("target", [0.1, 0.9])
def test_skip_penalty_moves_the_skip_rate_toward_its_target(target):
    """With a reward that does not depend on the architecture, only the skip penalty
    trains the policy: the skip rate moves from about 0.5 towards the target."""
    space = MacroSearchSpace(6)
    controller = MacroController(space, skip_target=target, skip_weight=1.0, seed=0)
    reinforce = Reinforce(controller, learning_rate=0.05)

    @tf.function
    def update():
        return reinforce.update(lambda arc: tf.constant(0.0), 5)

    @tf.function
    def rate():
        return controller.sample_run().stats["skip_rate"]

    def mean_rate():
        return float(np.mean([rate() for _ in range(40)]))

    before = mean_rate()
    for _ in range(40):
        stats = update()
    after = mean_rate()
    assert set(controller.stat_names) <= set(stats)
    assert abs(after - target) < abs(before - target) - 0.2, (before, after)


def _supernet(space=SPACE, filters=4):
    keras.utils.set_random_seed(0)
    return MacroSupernet(space, filters=filters, num_classes=4, keep_prob=1.0).build_for(
        (8, 8, 3))


@pytest.mark.kernels
def test_each_op_id_runs_its_own_op_and_gradients_reach_only_it():
    supernet = _supernet()
    layer = supernet.layer_blocks[1]
    x = tf.random.normal([4, 8, 8, 4], seed=1)
    skip_sum = tf.random.normal([4, 8, 8, 4], seed=2)
    outputs = []
    for op, branch in enumerate(layer.branches):
        with tf.GradientTape() as tape:
            out = layer(x, tf.constant(op), skip_sum, training=True)
            loss = tf.reduce_sum(out * tf.random.normal(out.shape, seed=3))
        expected = layer.skip_bn(branch(x, training=True) + skip_sum, training=True)
        np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-5, atol=1e-5)
        outputs.append(out.numpy())
        grads = tape.gradient(loss, [b.trainable_weights for b in layer.branches])
        for other, branch_grads in enumerate(grads):
            reached = any(g is not None and np.abs(tf.convert_to_tensor(g)).sum() > 0
                          for g in branch_grads)
            assert reached == (other == op), (op, other)
    for i in range(len(outputs)):
        for j in range(i):
            assert not np.allclose(outputs[i], outputs[j]), (MACRO_OPS[i], MACRO_OPS[j])


@pytest.mark.kernels
def test_supernet_computes_what_the_fixed_network_of_the_architecture_computes():
    """With the chosen branches' weights copied over, the fixed search-size network gives
    the supernet's output: ops, skips, poolings and the head are wired the same."""
    space = MacroSearchSpace(5)
    supernet = _supernet(space)
    arc = (1,  3, 1,  5, 1, 0,  2, 0, 1, 1,  4, 1, 0, 1, 1)
    fixed = FixedMacroNetwork(space, arc, filters=4, num_classes=4, keep_prob=1.0)
    fixed.build_for((8, 8, 3))
    pairs = [(fixed.stem_conv, supernet.stem_conv), (fixed.stem_bn, supernet.stem_bn),
             (fixed.classifier, supernet.classifier)]
    pairs += list(zip(fixed.reductions, supernet.reductions))
    for l, (op, _) in enumerate(space.layers(arc)):
        pairs.append((fixed.layer_blocks[l].branch, supernet.layer_blocks[l].branches[op]))
        if l:
            pairs.append((fixed.layer_blocks[l].combine, supernet.layer_blocks[l].skip_bn))
    for target, source in pairs:
        target.set_weights(source.get_weights())
    images = tf.random.normal([4, 8, 8, 3], seed=4)
    np.testing.assert_allclose(fixed(images, training=True).numpy(),
                               supernet(images, arc=tf.constant(arc), training=True).numpy(),
                               rtol=1e-4, atol=1e-4)


def test_new_architectures_do_not_retrace():
    assert_one_trace_for_many_architectures(_supernet(), MacroController(SPACE), SPACE)


def _macro_config(output_dir, **overrides) -> SearchConfig:
    values = tiny_config(output_dir).to_dict()
    values.update(search_space="macro", num_layers=4, num_branches=6, filters=4, aux_weight=0.0,
                  tanh_constant=1.5, controller_lr=0.001)
    values.update(overrides)
    return SearchConfig(**values)


@pytest.mark.slow
def test_macro_search_runs_resumes_and_logs_the_skip_rate(tmp_path, tiny_splits):
    output_dir = tmp_path / "run"
    first = Search(_macro_config(output_dir, num_epochs=1), tiny_splits)
    first.run()
    history = json.loads((output_dir / "history.json").read_text())
    assert 0.0 <= history[0]["controller_skip_rate"] <= 1.0
    second = Search(_macro_config(output_dir, num_epochs=2), tiny_splits)
    assert second.restore() == 1
    for mine, theirs in zip(second.supernet.trainable_variables,
                            first.supernet.trainable_variables):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    result = second.run()
    saved = json.loads((output_dir / "derived_arc.json").read_text())
    assert SPACE.from_json(saved["architecture"]) == tuple(result["arc"])
    facts = saved["search_facts"]
    assert set(facts["controller_skip_rate"]) == {"first_epoch", "last_epoch"}
    assert (output_dir / "derived_arc.png").read_bytes()[:4] == b"\x89PNG"


def test_space_defaults_and_bad_settings():
    config = SearchConfig.for_space("macro", dataset="digits")
    assert (config.num_layers, config.filters, config.batch_size, config.tanh_constant,
            config.controller_train_steps, config.controller_num_aggregate) == (
        12, 36, 128, 1.5, 50, 20)
    final = FinalConfig.for_space("macro")
    assert (final.num_layers, final.filters, final.num_branches, final.keep_prob) == (24, 96, 4,
                                                                                      0.5)
    with pytest.raises(ValueError, match="no auxiliary head"):
        SearchConfig.for_space("macro", aux_weight=0.4).validate()
    with pytest.raises(ValueError, match="unknown search space 'cells'|search_space must be"):
        SearchConfig(search_space="cells").validate()


def test_final_network_doubles_channels_and_loads_in_a_fresh_process(tmp_path):
    space = MacroSearchSpace(6, num_branches=6)
    arc = (3,  1, 1,  5, 0, 1,  4, 1, 1, 0,  2, 0, 0, 1, 1,  0, 1, 0, 0, 0, 1)
    model = FinalMacroNetwork(arc, num_layers=6, num_branches=6, filters=4, num_classes=4)
    model.build_for((8, 8, 3))
    widths = [layer.filters for layer in model.layer_blocks]
    assert widths == [4, 4, 8, 8, 16, 16]  # pools after layers 1 and 3
    assert model.layer_blocks[5].combine.conv.kernel.shape == (1, 1, 3 * 16, 16)
    plain = FinalMacroNetwork(arc, num_layers=6, filters=4, num_classes=4, sep_as_conv=True)
    plain.build_for((8, 8, 3))
    assert plain.count_params() > model.count_params()  # 5x5 convs instead of separable
    assert space.validate(model.arc)
    assert_reloads_in_a_fresh_process(model, tmp_path, "FinalMacroNetwork")


def test_final_training_of_a_macro_architecture(tmp_path):
    splits = make_splits(num_train=32)
    config = FinalConfig.for_space(
        "macro", dataset="digits", num_layers=3, filters=4, batch_size=16, num_epochs=1,
        steps_per_epoch=2, eval_every=1, log_every=1, output_dir=str(tmp_path), seed=1)
    arc = (0,  1, 1,  3, 1, 0)
    result = FinalTraining(config, arc, splits).run()
    assert 0.0 <= result["test_accuracy"] <= 1.0
    assert result["architecture"]["search_space"] == "macro"
    assert os.path.exists(tmp_path / "model.keras")


def test_pictures_show_the_ops_the_skips_and_the_probabilities(tmp_path):
    from enas_tf.search_spaces.macro_pictures import SHORT_OP_NAMES
    from enas_tf.search_spaces.pictures import save_png

    space = MacroSearchSpace(6)
    arc = (3,  1, 1,  5, 0, 1,  4, 1, 1, 0,  2, 0, 0, 1, 1,  0, 1, 0, 0, 0, 1)
    figure = space.draw(arc)
    ax = figure.axes[0]
    labels = [t.get_text() for t in ax.texts]
    assert [label for label in labels if label in SHORT_OP_NAMES.values()] == [
        SHORT_OP_NAMES[space.ops[op]] for op, _ in space.layers(arc)]
    arrows = [p for p in ax.patches if type(p).__name__ == "FancyArrowPatch"]
    assert len(arrows) == sum(len(skips) for _, skips in space.layers(arc))
    assert save_png(figure, str(tmp_path / "a.png"))

    rng = np.random.default_rng(0)
    probabilities = [rng.dirichlet(np.ones(d.num_choices)) for d in space.decisions]
    ops_ax, skips_ax = [a for a in space.draw_probabilities(probabilities).axes if a.images]
    ops_grid = np.asarray(ops_ax.images[0].get_array())
    skips_grid = np.asarray(skips_ax.images[0].get_array().filled(np.nan))
    np.testing.assert_allclose(ops_grid[3], probabilities[layer_start(3)])
    assert skips_grid[4, 2] == pytest.approx(probabilities[layer_start(4) + 1 + 2][1])
    assert np.isnan(skips_grid[2, 3])  # layer 2 has no skip from layer 3
