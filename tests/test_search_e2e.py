"""A short search on tiny data: it runs, logs to TensorBoard, checkpoints and resumes."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from conftest import tiny_config
from enas_tf.search_spaces.micro import MicroSearchSpace
from enas_tf.loops.search import MicroSearch

EXPECTED_TAGS = {"train/loss", "train/accuracy", "train/learning_rate", "controller/reward",
                 "controller/baseline", "controller/entropy",
                 "controller/sampled_valid_accuracy"}


def _scalars(output_dir):
    """{tag: [(step, value)]} of the numeric summaries, read with TensorBoard's reader."""
    events = EventAccumulator(os.path.join(output_dir, "tensorboard"), size_guidance={"tensors": 0})
    events.Reload()
    result = {}
    for tag in events.Tags()["tensors"]:
        values = [(e.step, tf.make_ndarray(e.tensor_proto)) for e in events.Tensors(tag)]
        if values and values[0][1].dtype.kind == "f":
            result[tag] = [(step, float(value)) for step, value in values]
    return result


def _image_tags(output_dir):
    """Tags of the image summaries (tensors with a string image encoding)."""
    events = EventAccumulator(os.path.join(output_dir, "tensorboard"), size_guidance={"tensors": 0})
    events.Reload()
    return [tag for tag in events.Tags()["tensors"]
            if events.Tensors(tag)[0].tensor_proto.dtype == tf.string.as_datatype_enum
            and len(events.Tensors(tag)[0].tensor_proto.string_val) == 3]


def test_search_runs_logs_stops_and_resumes(tmp_path, tiny_splits):
    output_dir = tmp_path / "run"

    # First run: stopped by an interrupt as epoch 2 starts, so its live state is exactly
    # the epoch-1 checkpoint's.
    first = MicroSearch(tiny_config(output_dir, num_epochs=2, derive_random_samples=3),
                        tiny_splits)
    original = first.train_shared_weights

    def interrupt_in_epoch_2(epoch, steps):
        if epoch == 1:
            raise KeyboardInterrupt
        return original(epoch, steps)

    first.train_shared_weights = interrupt_in_epoch_2
    with pytest.raises(KeyboardInterrupt):
        first.run()
    assert int(first.epoch) == 1
    baseline_after_epoch_1 = float(first.method.reinforce.baseline)
    assert baseline_after_epoch_1 != 0.0
    scalars = _scalars(output_dir)
    assert EXPECTED_TAGS <= set(scalars)
    assert [step for step, _ in scalars["train/loss"]] == [1]
    assert not (output_dir / "derived_arc.json").exists()

    # Second run, same command: resumes after epoch 1 with everything restored.
    second = MicroSearch(tiny_config(output_dir, num_epochs=2, derive_random_samples=3),
                         tiny_splits)
    assert second.restore() == 1
    assert float(second.method.reinforce.baseline) == pytest.approx(baseline_after_epoch_1)
    for mine, theirs in zip(second.method.controller.trainable_variables,
                            first.method.controller.trainable_variables):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    np.testing.assert_array_equal(second.supernet.cells[0].output_combine.kernel.numpy(),
                                  first.supernet.cells[0].output_combine.kernel.numpy())
    assert int(second.optimizer.iterations) == 3 == int(first.optimizer.iterations)
    result = second.run()
    assert int(second.epoch) == 2

    scalars = _scalars(output_dir)
    assert [step for step, _ in scalars["train/loss"]] == [1, 2]
    assert all(np.isfinite(v) for _, v in scalars["train/loss"])
    assert 0.0 <= scalars["controller/sampled_valid_accuracy"][-1][1] <= 1.0

    saved = json.loads((output_dir / "derived_arc.json").read_text())
    space = MicroSearchSpace(2)
    assert space.from_json(saved["architecture"]) == tuple(saved["arc"]) == tuple(result["arc"])
    assert space.from_string(saved["architecture"]["enas_string"]) == tuple(saved["arc"])
    assert saved["epochs_trained"] == 2 and 0.0 <= saved["valid_accuracy"] <= 1.0
    assert (output_dir / "derived_arc.png").read_bytes()[:4] == b"\x89PNG"

    # The facts that say whether the search searched, from both epochs' records.
    history = json.loads((output_dir / "history.json").read_text())
    assert [record["epoch"] for record in history] == [1, 2]
    facts = saved["search_facts"]
    entropies = [v for _, v in scalars["controller/entropy"]]
    assert facts["controller_entropy"]["first_epoch"] == pytest.approx(entropies[0], rel=1e-5)
    assert facts["controller_entropy"]["last_epoch"] == pytest.approx(entropies[-1], rel=1e-5)
    accuracies = [v for _, v in scalars["controller/sampled_valid_accuracy"]]
    assert facts["sampled_valid_accuracy"]["last_epoch"] == pytest.approx(accuracies[-1])
    versus = facts["derived_vs_random"]
    random = saved["random_architectures"]
    assert versus["num_random"] == random["num"] == len(random["valid_accuracies"]) == 3
    assert versus["random_valid_accuracy_mean"] == pytest.approx(
        np.mean(random["valid_accuracies"]))
    assert versus["derived_beats_random_mean"] == (
        saved["valid_accuracy"] > versus["random_valid_accuracy_mean"])
    assert space.validate(saved["most_likely"]["arc"])
    assert {"controller/choice_probabilities", "controller/most_likely_architecture"} <= set(
        _image_tags(output_dir))


def test_resume_with_incompatible_settings_is_refused(tmp_path, tiny_splits):
    small = dict(steps_per_epoch=1, controller_train_steps=1, derive_num_samples=1)
    MicroSearch(tiny_config(tmp_path, **small), tiny_splits).run()
    with pytest.raises(ValueError, match=r"different settings \(filters: 4 -> 6\)"):
        MicroSearch(tiny_config(tmp_path, filters=6, **small), tiny_splits).restore()


def test_batch_larger_than_data_is_a_clear_error(tmp_path, tiny_splits):
    with pytest.raises(ValueError, match="batch_size=128 is larger than"):
        MicroSearch(tiny_config(tmp_path, batch_size=128), tiny_splits)
