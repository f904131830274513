"""Multi-replica runs: a 2-replica step equals the 1-replica step on the same global batch.

The CPU is split into two logical devices (conftest), so MirroredStrategy runs two real
replicas. Dropout and drop-path are off here: their random masks are drawn per replica.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from conftest import free_port, make_splits, tiny_config
from enas_tf.config import FinalConfig, SearchConfig
from enas_tf.distribute import (DistributionError, broadcast_from_first_replica,
                                cross_replica_moments, cross_replica_sum, make_strategy)
from enas_tf.search_spaces.darts import DartsSearchSpace
from enas_tf.search_spaces.micro import MicroSearchSpace
from enas_tf.loops.final import FinalTraining
from enas_tf.loops.search import Search

TWO = ["/cpu:0", "/cpu:1"]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _one_batch(strategy, images, labels):
    """The global batch as a distributed value: each replica gets its share."""
    dataset = tf.data.Dataset.from_tensors((images, labels))
    return next(iter(strategy.experimental_distribute_dataset(dataset)))


def _copy_state(source, target):
    for mine, theirs in zip(target.variables, source.variables):
        mine.assign(theirs)


def _assert_close(a, b, what):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=2e-4, atol=2e-5,
                               err_msg=what)


def test_cross_replica_sum_inside_switch_case_and_its_gradient():
    strategy = make_strategy(devices=TWO)

    @tf.function
    def run(branch):
        def replica_fn():
            replica = tf.cast(tf.distribute.get_replica_context().replica_id_in_sync_group,
                              tf.float32)
            x = tf.fill([3], replica + 1.0)  # replica 0: 1s, replica 1: 2s
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = tf.switch_case(branch, [lambda: cross_replica_sum(x),
                                            lambda: cross_replica_sum(x * x)])
                loss = tf.reduce_sum(y * (replica + 1.0))
            mean, _ = cross_replica_moments(x[:, None], [0])
            return y, tape.gradient(loss, x), mean, broadcast_from_first_replica(x)

        return [strategy.experimental_local_results(v) for v in strategy.run(replica_fn)]

    (y0, y1), (g0, g1), (m0, m1), (b0, b1) = run(tf.constant(0))
    np.testing.assert_allclose(y0, [3.0] * 3)  # 1 + 2 on both replicas
    np.testing.assert_allclose(y1, [3.0] * 3)
    # d/dx of sum over replicas r of (r+1) * sum_r' x_r': 1 + 2 = 3 for every x.
    np.testing.assert_allclose(g0, [3.0] * 3)
    np.testing.assert_allclose(g1, [3.0] * 3)
    np.testing.assert_allclose(m0, [1.5])
    np.testing.assert_allclose(m1, [1.5])
    np.testing.assert_allclose(b1, [1.0] * 3)  # replica 0's value everywhere
    (y0, _), (g0, g1), _, _ = run(tf.constant(1))
    np.testing.assert_allclose(y0, [5.0] * 3)  # 1 + 4
    np.testing.assert_allclose(g0, [6.0] * 3)  # 2 x * 3 at x = 1
    np.testing.assert_allclose(g1, [12.0] * 3)  # at x = 2


@pytest.mark.parametrize("space", [
    {"search_space": "micro"},
    # Macro: batch norm with moving averages inside the switch_case branches.
    pytest.param({"search_space": "macro", "num_layers": 4, "aux_weight": 0.0,
                  "tanh_constant": 1.5}, marks=pytest.mark.slow)])
def test_two_replica_search_steps_equal_one_replica(tmp_path, space):
    splits = make_splits(num_train=32, num_valid=32)
    # A small grad_bound, so the clip of the replica-summed gradients is active.
    config = dict(keep_prob=1.0, batch_size=16, grad_bound=0.05, l2_reg=1e-3, **space)
    one = Search(tiny_config(tmp_path / "one", **config), splits)
    two = Search(tiny_config(tmp_path / "two", num_devices=2, **config), splits)
    assert two.distribution.num_replicas_in_sync == 2
    with pytest.warns(DeprecationWarning, match="now `distribution`"):
        assert two.strategy is two.distribution  # the old name, one more release
    _copy_state(one.supernet, two.supernet)
    _copy_state(one.optimizer, two.optimizer)

    images, labels = next(iter(splits.dataset("train", 16, shuffle_seed=3, augment=True)))
    for seed in (1, 2):  # two architectures: the second step uses momentum too
        arc = tf.constant(one.search_space.random_architecture(np.random.default_rng(seed)),
                          tf.int32)
        loss1, acc1 = one.method.steps.train_step(*_one_batch(one.distribution, images, labels), arc)
        loss2, acc2 = two.method.steps.train_step(*_one_batch(two.distribution, images, labels), arc)
        _assert_close(loss2, loss1, "loss")
        _assert_close(acc2, acc1, "accuracy")
    for mine, theirs in zip(two.supernet.variables, one.supernet.variables):
        _assert_close(mine.numpy(), theirs.numpy(), mine.path)
    for mine, theirs in zip(two.optimizer.variables, one.optimizer.variables):
        _assert_close(mine.numpy(), theirs.numpy(), mine.path)


@pytest.mark.parametrize("space, strategy, unrolled", [
    pytest.param("darts", "darts", False, marks=pytest.mark.slow),  # about 1.5 minutes
    pytest.param("darts", "darts", True, marks=pytest.mark.slow),  # about 3 minutes
    ("nb201", "gdas", False)])
def test_two_replica_darts_steps_equal_one_replica(tmp_path, space, strategy, unrolled):
    """An architecture step (DARTS first or second order; GDAS's on its own Gumbel
    sample) and a weight step, twice: the same alphas, weights and optimizer states on 2
    replicas as on 1."""
    splits = make_splits(num_train=32, num_valid=32, size=8)
    config = dict(dataset="digits", num_layers=3 if space == "darts" else 1, filters=4,
                  batch_size=16, num_valid=32, grad_bound=0.05, unrolled=unrolled,
                  num_epochs=1, verbose=0, seed=0, strategy=strategy)
    one = Search(SearchConfig.for_space(space, output_dir=str(tmp_path / "one"), **config),
                 splits)
    two = Search(SearchConfig.for_space(space, output_dir=str(tmp_path / "two"),
                                        num_devices=2, **config), splits)
    _copy_state(one.supernet, two.supernet)
    for cell, alpha in one.method.alphas.items():
        two.method.alphas[cell].assign(alpha)
    train = next(iter(splits.dataset("train", 16, shuffle_seed=3, augment=True)))
    valid = next(iter(splits.dataset("valid", 16, shuffle_seed=4, augment=True)))
    for _ in range(2):
        losses = [search.method.step(*_one_batch(search.distribution, *train),
                                     *_one_batch(search.distribution, *valid))[0]
                  for search in (one, two)]
        _assert_close(losses[1], losses[0], "loss")
    for cell, alpha in one.method.alphas.items():
        _assert_close(two.method.alphas[cell].numpy(), alpha.numpy(), f"alpha_{cell}")
    for mine, theirs in zip(two.supernet.variables, one.supernet.variables):
        _assert_close(mine.numpy(), theirs.numpy(), mine.path)
    for mine, theirs in zip(two.optimizer.variables, one.optimizer.variables):
        _assert_close(mine.numpy(), theirs.numpy(), mine.path)


def test_two_replica_controller_update_equals_one_replica(tmp_path):
    splits = make_splits(num_train=32, num_valid=32)
    one = Search(tiny_config(tmp_path / "one", keep_prob=1.0), splits)
    two = Search(tiny_config(tmp_path / "two", keep_prob=1.0, num_devices=2), splits)
    _copy_state(one.supernet, two.supernet)
    _copy_state(one.method.reinforce, two.method.reinforce)
    images, labels = next(iter(splits.dataset("valid", 16)))
    results = []
    for search in (one, two):
        search.method.controller.rng.reset_from_seed(7)
        grads, stats = search.method.steps.controller_sample(
            *_one_batch(search.distribution, images, labels))
        search.method.reinforce.apply_gradients([grads])
        results.append((stats, [v.numpy() for v in search.method.controller.trainable_variables]))
    (stats1, weights1), (stats2, weights2) = results
    np.testing.assert_array_equal(stats2["arc"], stats1["arc"])
    for key in ("accuracy", "reward", "baseline", "log_prob"):
        _assert_close(stats2[key], stats1[key], key)
    for a, b in zip(weights2, weights1):
        _assert_close(a, b, "controller weight")


@pytest.mark.parametrize("space", ["micro", "darts"])
def test_two_replica_final_step_equals_one_replica(tmp_path, space):
    splits = make_splits(num_train=32, num_valid=8, size=8)
    if space == "micro":
        arc = MicroSearchSpace(2).random_architecture(np.random.default_rng(0))
        sizes = dict(num_layers=1, num_nodes=2)
    else:
        arc = DartsSearchSpace().from_string("DARTS_V2")
        sizes = dict(num_layers=3, grad_bound=0.05)
    config = dict(filters=4, aux_weight=0.0, keep_prob=1.0, drop_path_keep_prob=1.0,
                  cutout=0, batch_size=16, num_epochs=1, steps_per_epoch=2, dataset="digits",
                  **sizes)
    one = FinalTraining(FinalConfig.for_space(space, output_dir=str(tmp_path / "one"),
                                              **config), arc, splits)
    two = FinalTraining(FinalConfig.for_space(space, output_dir=str(tmp_path / "two"),
                                              num_devices=2, **config), arc, splits)
    _copy_state(one.model, two.model)
    _copy_state(one.optimizer, two.optimizer)
    images, labels = next(iter(splits.dataset("train", 16, shuffle_seed=1, augment=True)))
    for _ in range(2):
        loss1, _ = one.train_step(*_one_batch(one.distribution, images, labels))
        loss2, _ = two.train_step(*_one_batch(two.distribution, images, labels))
        _assert_close(loss2, loss1, "loss")
    # Trainable weights and BN moving statistics alike.
    for mine, theirs in zip(two.model.variables, one.model.variables):
        _assert_close(mine.numpy(), theirs.numpy(), mine.path)
    _assert_close(two.evaluate("test"), one.evaluate("test"), "test accuracy")


def test_bad_device_requests_are_refused_by_name(monkeypatch):
    with pytest.raises(DistributionError, match="unknown device '/gpu:7'"):
        make_strategy(devices=["/gpu:7"])
    with pytest.raises(DistributionError, match="twice"):
        make_strategy(devices=["/cpu:0", "/cpu:0"])
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(DistributionError, match="TF_CONFIG"):
        make_strategy(multi_worker=True)
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(DistributionError, match="malformed"):
        make_strategy(multi_worker=True)
    with pytest.raises(ValueError, match="does not split evenly over 2 devices"):
        tiny_config("/tmp/x", batch_size=15, num_devices=2).validate()


def test_two_workers_search_to_the_same_result(tmp_path):
    """main.py --multi_worker on two processes (TF_CONFIG cluster on 127.0.0.1)."""
    workers = [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]
    output_dir = tmp_path / "run"
    command = [sys.executable, os.path.join(ROOT, "main.py"), "--mode=search", "--multi_worker",
               "--dataset=digits", "--num_layers=1", "--num_nodes=2", "--filters=4",
               "--aux_weight=0", "--batch_size=16", "--num_epochs=2", "--steps_per_epoch=3",
               "--controller_train_steps=2", "--controller_num_aggregate=2",
               "--derive_num_samples=3", "--num_valid=300", f"--output_dir={output_dir}"]

    def start(index):
        tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        env = dict(os.environ, TF_CONFIG=json.dumps(tf_config), CUDA_VISIBLE_DEVICES="")
        return subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)

    processes = [start(0), start(1)]
    outputs = [p.communicate(timeout=900)[0] for p in processes]
    for process, output in zip(processes, outputs):
        assert process.returncode == 0, output[-4000:]
    assert "2 replica(s)" in outputs[0]

    # The chief writes the run; worker 1 its private copy. Both reached the same state.
    dirs = [output_dir, output_dir / "workers" / "worker_1"]
    results = [json.loads((d / "derived_arc.json").read_text()) for d in dirs]
    assert results[0]["arc"] == results[1]["arc"]
    assert results[0]["valid_accuracy"] == pytest.approx(results[1]["valid_accuracy"])
    readers = [tf.train.load_checkpoint(str(d / "checkpoints")) for d in dirs]
    names = sorted(n for n, dtype in readers[0].get_variable_to_dtype_map().items()
                   if dtype != tf.string)
    assert sum("controller" in n for n in names) > 3 and len(names) > 50
    assert set(names) <= set(readers[1].get_variable_to_shape_map())
    for name in names:
        np.testing.assert_allclose(readers[1].get_tensor(name), readers[0].get_tensor(name),
                                   rtol=1e-5, atol=1e-6, err_msg=name)
