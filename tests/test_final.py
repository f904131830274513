"""The final network of one architecture: building, structure, saving, schedule, training."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import assert_reloads_in_a_fresh_process, make_splits, tiny_final_config
from enas_tf.data.pipeline import cutout
from enas_tf.export import load_architecture
from enas_tf.layers.drop_path import DropPath, drop_path_keep_prob
from enas_tf.models.micro_final import FinalMicroNetwork
from enas_tf.search_spaces.base import InvalidArchitectureError
from enas_tf.search_spaces.micro import PUBLISHED_ENAS_MICRO_ARC, MicroSearchSpace
from enas_tf.supernet.micro import MicroSupernet
from enas_tf.loops.final import FinalTraining

SPACE = MicroSearchSpace(5)
PUBLISHED = SPACE.from_string(PUBLISHED_ENAS_MICRO_ARC)


def _model(arc=PUBLISHED, seed=0, **kwargs):
    keras.utils.set_random_seed(seed)
    values = dict(num_layers=1, filters=4, num_classes=4, use_aux_head=False)
    values.update(kwargs)
    return FinalMicroNetwork(arc, **values).build_for((8, 8, 3))


def test_string_and_search_json_give_the_same_model(tmp_path):
    path = tmp_path / "derived_arc.json"
    path.write_text(json.dumps({"architecture": SPACE.to_json(PUBLISHED), "valid_accuracy": 0.5}))
    from_file = load_architecture(SPACE, arc_file=str(path))
    from_string = load_architecture(SPACE, arc=PUBLISHED_ENAS_MICRO_ARC)
    assert from_file == from_string == PUBLISHED
    assert load_architecture(SPACE) == PUBLISHED  # the default
    a, b = _model(from_file), _model(from_string)
    assert a.get_config() == b.get_config()
    images = tf.random.normal([3, 8, 8, 3])
    np.testing.assert_array_equal(a(images, training=False).numpy(),
                                  b(images, training=False).numpy())


def _supernet_trained_sep_convs(arc):
    """(cell kind, node, slot, op, source) of every sep-conv the supernet trains for arc."""
    keras.utils.set_random_seed(0)
    supernet = MicroSupernet(SPACE, num_layers=1, filters=4, num_classes=4,
                             use_aux_head=False).build_for((8, 8, 3))
    # Which (node, slot, source) each table row belongs to.
    owners = {}
    for cell in supernet.cells:
        for n in range(SPACE.num_nodes):
            for slot in range(2):
                for source in range(n + 2):
                    owners[cell.name, int(cell.row(n, slot, source))] = (n + 2, slot + 1, source)
    tables = []  # (cell, op, weight table)
    for cell in supernet.cells:
        for op, layer in zip(SPACE.ops[:2], cell.sep_convs):
            tables += [(cell, op, t) for t in layer.depthwise + layer.pointwise]
    with tf.GradientTape() as tape:
        logits = supernet(tf.random.normal([2, 8, 8, 3]), arc=tf.constant(arc), training=True)
        loss = tf.reduce_sum(logits * tf.random.normal(logits.shape))
    grads = tape.gradient(loss, [t[-1] for t in tables])
    trained = set()
    for (cell, op, table), grad in zip(tables, grads):
        if grad is not None:
            kind = "reduce" if "reduce" in cell.name else "normal"
            rows = np.abs(tf.convert_to_tensor(grad).numpy()).reshape(table.shape[0], -1).sum(1)
            for row in np.nonzero(rows)[0]:
                node, slot, source = owners[cell.name, int(row)]
                trained.add((kind, node, slot, op, source))
    return trained


@pytest.mark.kernels
def test_final_model_runs_the_ops_the_supernet_trains():
    arc = SPACE.random_architecture(np.random.default_rng(3))
    model = _model(arc)
    chosen = {("reduce" if "reduce" in cell.name else "normal", *op)
              for cell in model.cells for op in cell.chosen_ops()}
    # Every slot of the final model is the one the architecture names.
    decoded = SPACE.to_json(arc)
    expected = {(kind, node["node"], slot + 1, node["inputs"][slot], node["ops"][slot])
                for kind in ("normal", "reduce") for node in decoded[kind] for slot in range(2)}
    assert chosen == expected
    # The supernet trains exactly the sep-convs the final model contains.
    final_sep = {(kind, node, slot, op, source) for kind, node, slot, source, op in chosen
                 if op.startswith("sep_conv")}
    assert _supernet_trained_sep_convs(arc) == final_sep


def test_final_network_structure_follows_the_official_final_net():
    model = _model(num_layers=3)
    shapes = {}
    x = tf.zeros([2, 8, 8, 3])
    model(x, training=False)
    # Reduction cells stride (8 -> 4 -> 2); outputs concatenate unused nodes: the published
    # normal cell leaves 5 nodes unused, the reduce cell 4.
    layers = [x, x]
    x = model.stem_bn(model.stem_conv(x))
    layers = [x, x]
    for cell in model.cells:
        out = cell(layers)
        shapes[cell.name] = tuple(out.shape[1:])
        layers = [layers[-1], out]
    assert model.reduction_ids == (1, 3)
    assert shapes == {"cell0_normal": (8, 8, 20), "cell1_reduce": (4, 4, 32),
                      "cell2_normal": (4, 4, 40), "cell3_reduce": (2, 2, 64),
                      "cell4_normal": (2, 2, 80)}
    assert not model.reductions  # no search-style reductions before reduce cells
    names = {w.path for w in model.weights}
    assert not any("sep3" in n or "sep5" in n for n in names)  # no supernet tables


def test_saved_model_loads_with_keras_alone_and_predicts_the_same(tmp_path):
    assert_reloads_in_a_fresh_process(_model(use_aux_head=False), tmp_path, "FinalMicroNetwork")


def test_drop_path_schedule_at_start_middle_and_end():
    last, cells = 16, 17  # the official 15 + 2 cells
    assert float(drop_path_keep_prob(last, cells, 0.6, 0.0)) == pytest.approx(1.0)
    assert float(drop_path_keep_prob(last, cells, 0.6, 0.5)) == pytest.approx(0.8)
    assert float(drop_path_keep_prob(last, cells, 0.6, 1.0)) == pytest.approx(0.6)
    assert float(drop_path_keep_prob(last, cells, 0.6, 3.0)) == pytest.approx(0.6)  # clipped
    assert float(drop_path_keep_prob(0, cells, 0.6, 1.0)) == pytest.approx(1 - 0.4 / 17)
    assert float(drop_path_keep_prob(8, cells, 0.6, 0.5)) == pytest.approx(1 - 0.5 * 9 / 17 * 0.4)

    layer = DropPath(last, cells, 0.6)
    x = tf.ones([4000, 1, 1, 1])
    layer.build(x.shape)
    layer.progress.assign(1.0)
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x.numpy())
    out = layer(x, training=True).numpy().ravel()
    kept = out[out > 0]
    np.testing.assert_allclose(kept, 1 / 0.6, rtol=1e-6)  # survivors are rescaled
    assert abs(len(kept) / len(out) - 0.6) < 0.05


def test_model_drop_path_progress_reaches_every_cell():
    model = _model(drop_path_keep_prob=0.6)
    model.set_training_progress(1.0)
    keeps = [float(cell.drop_path.keep_prob) for cell in model.cells]
    assert keeps == pytest.approx([1 - (i + 1) / 3 * 0.4 for i in range(3)])


def test_cutout_masks_the_right_area():
    image = tf.ones([8, 8, 2])
    out = cutout(image, 3, tf.constant([2, 4])).numpy()
    zero = np.zeros([8, 8], bool)
    zero[2:5, 4:7] = True
    assert (out[zero] == 0).all() and (out[~zero] == 1).all()
    clipped = cutout(image, 3, tf.constant([6, 7])).numpy()  # clipped at the border
    zero = np.zeros([8, 8], bool)
    zero[6:8, 7:8] = True
    assert (clipped[zero] == 0).all() and (clipped[~zero] == 1).all()


def test_cutout_in_the_training_pipeline_zeroes_a_patch():
    splits = make_splits(num_train=16)
    batch = next(iter(splits.dataset("train", 16, shuffle_seed=1, augment=True, cutout_size=3)))
    plain = next(iter(splits.dataset("train", 16, shuffle_seed=1, augment=True)))
    cut, plain = batch[0].numpy(), plain[0].numpy()
    changed = (cut != plain).any(axis=-1)  # same seeds: only the patch differs
    per_image = changed.sum(axis=(1, 2))
    # At most the 3x3 patch; it can land on zero padding and change nothing.
    assert (per_image <= 9).all() and (per_image > 0).mean() > 0.5
    assert (cut[changed] == 0).all()


@pytest.mark.parametrize("arc,message", [
    ("0 2 0 0", "must have 40 integers, got 4"),
    (PUBLISHED_ENAS_MICRO_ARC.replace("0 2 0 0 0 4", "0 2 0 0 5 4", 1),
     "position 4 (normal/node3/input1): 5 is out of range [0, 2]"),
    (PUBLISHED_ENAS_MICRO_ARC.replace("0 2", "0 7", 1),
     "position 1 (normal/node2/op1): 7 is out of range [0, 4]"),
    ("0 x", "position 1: 'x' is not an integer"),
])
def test_bad_architectures_are_named(arc, message):
    with pytest.raises(InvalidArchitectureError, match=message.replace("(", r"\(").replace(
            ")", r"\)").replace("[", r"\[").replace("]", r"\]")):
        load_architecture(SPACE, arc=arc)


def test_unknown_op_in_json_is_named(tmp_path):
    data = SPACE.to_json(PUBLISHED)
    data.pop("enas_string")
    data["reduce"][2]["ops"][1] = "conv_7x7"
    path = tmp_path / "arc.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InvalidArchitectureError, match="reduce/node4/op2: unknown op 'conv_7x7'"):
        load_architecture(SPACE, arc_file=str(path))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_architecture(SPACE, arc_file=str(tmp_path / "absent.json"))


@pytest.mark.kernels
def test_final_training_trains_saves_and_resumes(tmp_path):
    splits = make_splits(num_train=64, size=32)  # 32x32 leaves room for the aux head
    first = FinalTraining(tiny_final_config(tmp_path), PUBLISHED, splits)
    assert first.facts["parameters_with_aux_head"] > first.facts["parameters"] > 0
    assert first.facts["multiply_adds_per_image"] > 0
    result = first.run()
    assert 0.0 <= result["test_accuracy"] <= 1.0
    assert os.path.exists(tmp_path / "model.keras") and os.path.exists(tmp_path / "result.json")
    # Aux-head weights train (unlike the official code).
    aux_before = [w.numpy().copy() for w in first.model.aux_head.trainable_weights]

    resumed = FinalTraining(tiny_final_config(tmp_path, num_epochs=2), PUBLISHED, splits)
    resumed.run()
    assert int(resumed.epoch) == 2
    assert int(resumed.optimizer.iterations) == 6  # 3 restored + 3 new steps
    aux_after = [w.numpy() for w in resumed.model.aux_head.trainable_weights]
    assert any(not np.allclose(a, b) for a, b in zip(aux_before, aux_after))

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    tags = set(events.Tags()["tensors"])
    assert {"test/test_accuracy", "train/loss", "train/learning_rate"} <= tags
    with pytest.raises(ValueError, match="filters: 4 -> 8"):
        FinalTraining(tiny_final_config(tmp_path, filters=8, num_epochs=3), PUBLISHED, splits).run()


def test_published_architecture_counts_as_the_official_code():
    """The official TF1 code at cifar10_micro_final.sh settings prints 3,894,372
    trainable parameters (its count leaves out the aux head); with the aux head 4,389,220.
    Facts of the official network, so not tuned: a change here is a change of network."""
    from enas_tf.models.summary import trainable_parameters

    model = FinalMicroNetwork(PUBLISHED, num_layers=15, filters=36).build_for((32, 32, 3))
    assert trainable_parameters(model) - trainable_parameters(model.aux_head) == 3_894_372
    assert trainable_parameters(model) == 4_389_220
