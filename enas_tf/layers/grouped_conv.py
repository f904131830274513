"""Grouped 2-D convolution that trains on every TensorFlow kernel path.

``tf.nn.conv2d`` runs a kernel of input depth ``C / groups`` as a grouped convolution,
but only oneDNN and cuDNN have its gradient: TensorFlow's own CPU kernels (Eigen, the
default on every CPU without AVX-512 VNNI-class features) raise "Gradients for grouped
convolutions are not supported on CPU". ``grouped_conv2d`` keeps the grouped kernel as
the variable and expands it into the block-diagonal dense kernel it stands for, so one
ordinary convolution computes the same sums (the off-diagonal products are exact zeros)
and its gradient exists on every device and kernel family. On the small reduction-cell
widths it is used at, one dense convolution is also faster on Eigen than ``groups``
convolutions over channel slices (``benchmarks/README.md``).

Example:

```python
kernel = tf.Variable(tf.random.normal([1, 3, 32 // 8, 32]))   # 8 groups
y = grouped_conv2d(x, kernel, strides=[1, 1, 2, 1], groups=8)
```
"""

from __future__ import annotations

from typing import Sequence

import tensorflow as tf


def block_diagonal_kernel(kernel: tf.Tensor, groups: int) -> tf.Tensor:
    """The dense ``[kh, kw, C, C_out]`` kernel of a grouped ``[kh, kw, C / groups,
    C_out]`` one: output channels of group ``g`` see only input channels of group ``g``."""
    kh, kw, group_in, out = kernel.shape
    if out % groups:
        raise ValueError(f"a grouped kernel's {out} output channels do not split into "
                         f"{groups} groups.")
    mask = tf.repeat(tf.repeat(tf.eye(groups, dtype=kernel.dtype), group_in, axis=0),
                     out // groups, axis=1)
    return tf.tile(kernel, [1, 1, groups, 1]) * mask


def grouped_conv2d(x: tf.Tensor, kernel: tf.Tensor, strides: Sequence[int], groups: int,
                   padding: str = "VALID") -> tf.Tensor:
    """``tf.nn.conv2d(x, kernel, strides, padding)`` for a grouped ``kernel`` (input depth
    ``C / groups``), with a forward pass and gradient on every TensorFlow kernel path."""
    if x.shape[-1] is not None and x.shape[-1] != kernel.shape[2] * groups:
        raise ValueError(f"a {groups}-group kernel of input depth {kernel.shape[2]} needs "
                         f"{kernel.shape[2] * groups} input channels, got {x.shape[-1]}.")
    return tf.nn.conv2d(x, block_diagonal_kernel(kernel, groups), strides, padding)
