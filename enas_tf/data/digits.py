"""The offline quick-start data set: scikit-learn's bundled 8x8 handwritten digits.

1,797 real grey-scale images of 10 classes ship inside scikit-learn, so a search runs
on a fresh machine with no network. Pixels (0..16) are rescaled to uint8 0..255.
"""

from __future__ import annotations

import numpy as np

from enas_tf.data.pipeline import ImageSplits

NUM_TEST = 300


def load_digits(num_valid: int = 300, seed: int = 0) -> ImageSplits:
    """A deterministic shuffle into train / ``num_valid`` valid / 300 test images."""
    from sklearn.datasets import load_digits as sklearn_digits

    data = sklearn_digits()
    images = np.round(data.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
    labels = data.target.astype(np.int32)
    if num_valid + NUM_TEST >= len(images):
        raise ValueError(f"num_valid={num_valid} is too large for the digits data set "
                         f"({len(images)} images, {NUM_TEST} kept for test).")
    order = np.random.default_rng(seed).permutation(len(images))
    images, labels = images[order], labels[order]
    test, valid = slice(0, NUM_TEST), slice(NUM_TEST, NUM_TEST + num_valid)
    train = slice(NUM_TEST + num_valid, None)
    # 8x8 images are too small for 4-pixel padding; one pixel keeps the crop meaningful.
    # A mirrored digit is a different (or no) digit, so no flips.
    return ImageSplits("digits", train=(images[train], labels[train]),
                       valid=(images[valid], labels[valid]), test=(images[test], labels[test]),
                       num_classes=10, pad=1, flip=False)
