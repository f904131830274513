"""The compiled search steps that save dispatches do what the step-by-step path does:
a step that samples its own architecture, and a whole controller update in one call."""

import numpy as np
import pytest

from conftest import make_splits, tiny_config
from enas_tf.loops.search import MicroSearch


def _search(path, **overrides):
    return MicroSearch(tiny_config(path, keep_prob=1.0, **overrides),
                       make_splits(num_train=32, num_valid=32))


def _state(search):
    return [v.numpy() for v in search.method.controller.variables] + [
        float(search.method.reinforce.baseline)] + [v.numpy() for v in search.method.reinforce.optimizer.variables]


@pytest.mark.parametrize("num_devices", [1, pytest.param(2, marks=pytest.mark.slow)])
def test_one_call_controller_update_equals_sample_by_sample(tmp_path, num_devices):
    fused = _search(tmp_path / "fused", num_devices=num_devices)
    stepwise = _search(tmp_path / "stepwise", num_devices=num_devices)
    def batches(search):  # a new dataset each: one dataset reshuffles at every iteration
        dataset = search.data.dataset("valid", 16, shuffle_seed=3, repeat=True,
                                      drop_remainder=True)
        return iter(search.distribution.experimental_distribute_dataset(dataset))

    for search in (fused, stepwise):
        search.method.controller.rng.reset_from_seed(11)
    stats = fused.method.steps.controller_update(batches(fused), 3)
    batches = batches(stepwise)
    grads, accuracies = [], []
    for _ in range(3):
        sample_grads, sample_stats = stepwise.method.steps.controller_sample(*next(batches))
        grads.append(sample_grads)
        accuracies.append(float(sample_stats["accuracy"]))
    stepwise.method.reinforce.apply_gradients(grads)
    assert float(stats["accuracy"]) == pytest.approx(np.mean(accuracies), abs=1e-6)
    assert float(stats["baseline"]) == pytest.approx(float(stepwise.method.reinforce.baseline))
    for mine, theirs in zip(_state(fused), _state(stepwise)):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)


@pytest.mark.kernels
def test_search_step_trains_on_the_architecture_it_samples(tmp_path):
    one = _search(tmp_path / "one")
    two = _search(tmp_path / "two")
    images, labels = next(iter(one.data.dataset("train", 16)))
    for search in (one, two):
        search.method.controller.rng.reset_from_seed(5)
    loss, accuracy, arc = one.method.steps.search_step(images, labels)
    expected_arc = two.method.steps.sample_arc()
    np.testing.assert_array_equal(arc.numpy(), expected_arc.numpy())
    expected_loss, _ = two.method.steps.train_step(images, labels, expected_arc)
    assert float(loss) == pytest.approx(float(expected_loss), rel=1e-5)
    for mine, theirs in zip(one.supernet.variables, two.supernet.variables):
        np.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-6)
