"""Model facts printed before training: parameter counts and multiply-adds per image.

The counting convention everywhere (CLI, logs, ``result.json``, benchmarks): trainable
parameters, first without the auxiliary head (the number the official ENAS code prints
and the papers report), then with it.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def _num(shape) -> int:
    return int(np.prod([int(d) for d in shape]))


def _op_multiply_adds(op: tf.Operation) -> int:
    """Multiply-adds of one convolution or matrix product with static shapes, else 0."""
    if op.type == "Conv2D":
        kernel = op.inputs[1].shape  # [kh, kw, cin, cout]
        return _num(op.outputs[0].shape) * _num(kernel[:3])
    if op.type == "DepthwiseConv2dNative":
        kernel = op.inputs[1].shape  # [kh, kw, cin, multiplier]
        return _num(op.outputs[0].shape) * _num(kernel[:2])
    if op.type in ("MatMul", "BatchMatMulV2"):
        a = op.inputs[0].shape
        transpose_a = op.get_attr("transpose_a" if op.type == "MatMul" else "adj_x")
        return _num(op.outputs[0].shape) * int(a[-2] if transpose_a else a[-1])
    return 0


def multiply_adds_per_image(model, image_shape: tuple[int, int, int]) -> int:
    """Multiply-adds of convolutions and dense layers for one image at inference.

    Counted from the traced inference graph, so it reflects exactly the ops the model
    runs (the auxiliary head, used only in training, is not included).
    """
    fn = tf.function(lambda images: model(images, training=False))
    graph = fn.get_concrete_function(tf.TensorSpec([1, *image_shape], tf.float32)).graph
    return sum(_op_multiply_adds(op) for op in graph.get_operations())


def trainable_parameters(layer) -> int:
    """Trainable weights' element count: what the official code's "Model has N params"
    counts (no batch-norm moving statistics, no drop-path progress)."""
    return int(sum(_num(w.shape) for w in layer.trainable_weights))


def describe_model(model, image_shape: tuple[int, int, int] | None) -> dict[str, int]:
    """Trainable parameter counts, as the official code and papers count them (without
    the auxiliary head, which serves training only) and with it, and the multiply-adds
    per image at inference (``image_shape`` None, a language model: per token)."""
    total = trainable_parameters(model)
    aux = trainable_parameters(model.aux_head) if getattr(model, "aux_head", None) else 0
    facts = {"parameters": total - aux, "parameters_with_aux_head": total}
    if image_shape is None:  # a language model: per token, counted by the model
        return {**facts, "multiply_adds_per_token": model.multiply_adds_per_token()}
    return {**facts, "multiply_adds_per_image": multiply_adds_per_image(model, image_shape)}
