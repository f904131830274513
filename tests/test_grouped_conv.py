"""Grouped convolutions (GDAS's fixed reduction cell) on every CPU kernel path.

TensorFlow's Eigen CPU kernels (what ``TF_ENABLE_ONEDNN_OPTS=0`` and most CPUs get) have
no gradient for grouped convolutions; oneDNN does. ``grouped_conv2d`` must equal the
native grouped convolution in value and gradient, and train on both paths.
"""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import enas_tf  # noqa: F401  (registers the layers for loading)
from enas_tf.layers.gdas_reduction import GdasReductionCell
from enas_tf.layers.grouped_conv import block_diagonal_kernel, grouped_conv2d

pytestmark = pytest.mark.kernels  # CI reruns these with oneDNN on

DATA = os.path.join(os.path.dirname(__file__), "data")


def sliced_reference(x, kernel, strides, groups):
    """The grouped convolution spelled out: one convolution per channel slice."""
    pieces = zip(tf.split(x, groups, axis=-1), tf.split(kernel, groups, axis=-1))
    return tf.concat([tf.nn.conv2d(a, k, strides, "VALID") for a, k in pieces], axis=-1)


def value_and_grads(conv, x, kernel, strides, groups):
    with tf.GradientTape() as tape:
        tape.watch([x, kernel])
        y = conv(x, kernel, strides, groups)
        loss = tf.reduce_sum(y * tf.sin(y))  # a non-trivial upstream gradient
    return (y, *tape.gradient(loss, [x, kernel]))


def native(x, kernel, strides, groups):
    return tf.nn.conv2d(x, kernel, strides, "VALID")


CASES = [((1, 3), [1, 1, 2, 1], 32), ((3, 1), [1, 2, 1, 1], 64), ((3, 3), [1, 1, 1, 1], 16)]


@pytest.mark.parametrize("window,strides,channels", CASES)
def test_grouped_conv_equals_sliced_convolutions_in_value_and_gradient(window, strides,
                                                                        channels):
    rng = np.random.default_rng(channels)
    x = tf.constant(rng.normal(size=(3, 7, 9, channels)), tf.float32)
    kernel = tf.constant(rng.normal(size=(*window, channels // 8, channels)), tf.float32)
    ours = value_and_grads(grouped_conv2d, x, kernel, strides, 8)
    reference = value_and_grads(sliced_reference, x, kernel, strides, 8)
    for a, b in zip(ours, reference):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("window,strides,channels", CASES)
def test_grouped_conv_equals_native_grouped_conv_where_that_runs(window, strides, channels):
    rng = np.random.default_rng(channels + 1)
    x = tf.constant(rng.normal(size=(2, 6, 8, channels)), tf.float32)
    kernel = tf.constant(rng.normal(size=(*window, channels // 8, channels)), tf.float32)
    # The forward pass of the native grouped conv exists on both CPU paths.
    np.testing.assert_allclose(grouped_conv2d(x, kernel, strides, 8).numpy(),
                               native(x, kernel, strides, 8).numpy(), rtol=1e-4, atol=1e-4)
    try:
        reference = value_and_grads(native, x, kernel, strides, 8)
    except (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError) as error:
        assert "grouped" in str(error).lower() or "depth" in str(error).lower(), error
        pytest.skip("this kernel path has no gradient for native grouped convolutions")
    for a, b in zip(value_and_grads(grouped_conv2d, x, kernel, strides, 8), reference):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-4)


def test_block_diagonal_kernel_places_each_group_on_its_own_block():
    kernel = tf.reshape(tf.range(1, 1 * 1 * 2 * 8 + 1, dtype=tf.float32), [1, 1, 2, 8])
    dense = block_diagonal_kernel(kernel, 4).numpy()[0, 0]  # [8 in, 8 out]
    for g in range(4):
        rows, cols = slice(2 * g, 2 * g + 2), slice(2 * g, 2 * g + 2)
        np.testing.assert_array_equal(dense[rows, cols], kernel.numpy()[0, 0][:, cols])
        off = np.ones(8, bool)
        off[cols] = False
        assert not dense[rows][:, off].any()
    with pytest.raises(ValueError, match="do not split into 3 groups"):
        block_diagonal_kernel(kernel, 3)
    with pytest.raises(ValueError, match="needs 8 input channels, got 4"):
        grouped_conv2d(tf.zeros([1, 3, 3, 4]), kernel, [1, 1, 1, 1], 4)


def test_gdas_reduction_cell_trains_on_this_kernel_path():
    cell = GdasReductionCell(16, reduction_prev=False)
    inputs = [tf.random.normal([2, 8, 8, 12]), tf.random.normal([2, 8, 8, 12])]
    cell(inputs)
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(cell(inputs, training=True)))
    grads = tape.gradient(loss, cell.trainable_variables)
    named = {v.path: g for v, g in zip(cell.trainable_variables, grads)}
    grouped = [g for path, g in named.items() if "conv1x3" in path or "conv3x1" in path]
    assert len(grouped) == 4
    assert all(g is not None and float(tf.reduce_sum(tf.abs(g))) > 0 for g in grouped)


def test_saved_model_of_the_native_grouped_layer_still_loads_and_matches():
    """``gdas_reduction_cell_v0.keras`` was written by the layer when it called the native
    grouped ``tf.nn.conv2d`` (commit 6a8d8d2), with its output on fixed inputs."""
    model = keras.models.load_model(os.path.join(DATA, "gdas_reduction_cell_v0.keras"))
    saved = np.load(os.path.join(DATA, "gdas_reduction_cell_v0.npz"))
    y = model([saved["x0"], saved["x1"]], training=False).numpy()
    np.testing.assert_allclose(y, saved["y"], rtol=1e-4, atol=1e-5)
