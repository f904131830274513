"""DARTS's memory work changes no result: a few search steps of a tiny DARTS network give
the alphas and weights today's code gives, with and without ``--recompute_edges``; an
architecture pass computes no kernel gradients.

``tests/data/darts_steps_before_memory_work.npz`` holds what ``tiny_darts_steps`` gave at
commit 5fba050 (before the supernet's memory work: explicit padding everywhere, a ReLU per
primitive, every gradient of an architecture pass), oneDNN off, float32."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import make_splits
from enas_tf.config import SearchConfig
from enas_tf.loops.search import Search
from enas_tf.search_spaces.darts import DartsSearchSpace
from enas_tf.search_spaces.nb201 import NasBench201SearchSpace
from enas_tf.supernet.darts import DartsSupernet
from enas_tf.supernet.nb201 import NasBench201Supernet

GOLDEN = os.path.join(os.path.dirname(__file__), "data", "darts_steps_before_memory_work.npz")
STEPS = 3


def tiny_darts_steps(output_dir, steps: int = STEPS, **overrides) -> dict[str, np.ndarray]:
    """Alphas and supernet weights (flattened, in order) after ``steps`` search steps of
    a 3-cell, C=4 DARTS network on 8x8 images (the loop's own step, batches from its own
    pipeline)."""
    values = dict(dataset="digits", num_layers=3, filters=4, batch_size=8, num_epochs=1,
                  num_valid=16, verbose=0, output_dir=str(output_dir), seed=1)
    cfg = SearchConfig.for_space("darts", **{**values, **overrides})
    search = Search(cfg, make_splits(32, 16, size=8))
    search.method.start_epoch(0)
    batches = iter(search.data.dataset("train", cfg.batch_size, shuffle_seed=0, augment=True,
                                       repeat=True, drop_remainder=True))
    for _ in range(steps):
        search.method.shared_step(*next(batches))
    state = {f"alpha_{cell}": alpha.numpy() for cell, alpha in search.method.alphas.items()}
    state["weights"] = np.concatenate([w.numpy().ravel()
                                       for w in search.supernet.trainable_variables])
    return state


def golden_state(order: str) -> dict[str, np.ndarray]:
    """What the code before the memory work gave for ``order`` ("first", "second")."""
    golden = np.load(GOLDEN)
    return {name[len(order) + 1:]: golden[name] for name in golden.files
            if name.startswith(order + "/")}


def assert_same_state(actual, expected, what):
    assert sorted(actual) == sorted(expected), what
    for name in expected:
        # Alphas move by Adam steps of about lr = 3e-4: the tolerance is a small part of one.
        np.testing.assert_allclose(actual[name], expected[name], rtol=2e-4, atol=2e-5,
                                   err_msg=f"{what}: {name}")


# The second order traces its four passes (a minute and a half): slow, like its
# recompute check below; tests/test_darts.py checks its gradient in the default run.
@pytest.mark.parametrize("order", ["first", pytest.param("second", marks=pytest.mark.slow)])
def test_memory_work_leaves_the_steps_as_they_were(tmp_path, order):
    expected = golden_state(order)
    unrolled = order == "second"
    plain = tiny_darts_steps(tmp_path / "plain", unrolled=unrolled)
    assert_same_state(plain, expected, f"{order} order against the code before")
    # The steps moved the alphas and weights well beyond the tolerance: what is compared
    # is not two initialisations.
    start = tiny_darts_steps(tmp_path / "start", steps=0, unrolled=unrolled)
    for name in start:
        assert np.median(np.abs(plain[name] - start[name])) > 1e-4, name


@pytest.mark.parametrize("order", ["first", pytest.param("second", marks=pytest.mark.slow)])
def test_recompute_edges_changes_no_step(tmp_path, order):
    expected = golden_state(order)
    recomputed = tiny_darts_steps(tmp_path, unrolled=order == "second", recompute_edges=True)
    assert_same_state(recomputed, expected, f"{order} order, recompute_edges")


@pytest.mark.parametrize("space", ["darts", "nb201"])
def test_an_architecture_pass_computes_no_kernel_gradients(space):
    """``weight_gradients=False`` gives the alphas the same gradient and the edges'
    kernels none (the cut is inside the edge functions, so none is computed). Which
    gradients exist does not depend on the CPU kernels: not a ``kernels`` test."""
    keras.utils.set_random_seed(0)
    if space == "darts":
        search_space = DartsSearchSpace()
        supernet = DartsSupernet(search_space, num_cells=3, filters=4, num_classes=4)
    else:
        search_space = NasBench201SearchSpace()
        supernet = NasBench201Supernet(search_space, filters=4, cells_per_stage=1,
                                       num_classes=4)
    supernet.build_for((8, 8, 3))
    alphas = {cell: tf.Variable(tf.random.normal(shape, seed=i))
              for i, (cell, shape) in enumerate(search_space.weight_shapes.items())}
    images = tf.random.normal([4, 8, 8, 3], seed=5)
    kernels = [w for w in supernet.trainable_variables if "edge" in w.path]
    assert kernels

    @tf.function
    def gradients(weight_gradients):
        with tf.GradientTape() as tape:
            mixing = {cell: tf.nn.softmax(a) for cell, a in alphas.items()}
            logits = supernet(images, mixing if space == "darts" else mixing["cell"],
                              training=True, weight_gradients=weight_gradients)
            loss = tf.reduce_sum(logits ** 2)
        return tape.gradient(loss, [list(alphas.values()), kernels])

    (alpha_all, kernel_all), (alpha_cut, kernel_cut) = gradients(True), gradients(False)
    for full, cut in zip(alpha_all, alpha_cut):
        np.testing.assert_allclose(cut.numpy(), full.numpy(), rtol=1e-5, atol=1e-7)
    assert all(g is not None for g in kernel_all)
    assert all(g is None for g in kernel_cut)


def test_recompute_edges_belongs_to_the_darts_spaces():
    with pytest.raises(ValueError) as error:
        SearchConfig.for_space("nb201", recompute_edges=True, dataset="digits").validate()
    assert str(error.value) == ("recompute_edges applies to the darts space and the "
                                "darts_frc space.")
    SearchConfig.for_space("darts", recompute_edges=True, dataset="digits").validate()


def write_golden(path: str) -> None:
    """Writes the golden file from this checkout's code (see the module docstring)."""
    import tempfile

    state = {}
    for order in ("first", "second"):
        steps = tiny_darts_steps(tempfile.mkdtemp(), unrolled=order == "second")
        state.update({f"{order}/{name}": value for name, value in steps.items()})
    np.savez_compressed(path, **state)


if __name__ == "__main__":
    tf.config.set_visible_devices(tf.config.list_physical_devices("CPU"))
    write_golden(GOLDEN)
