"""Deriving the final architecture from a trained controller (ENAS paper, Sec. 3.2).

Sample several architectures from the policy, score each on the *same* validation
minibatch with the shared weights, keep the best, then measure it on the whole
validation split.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf
from absl import logging

from enas_tf.data.pipeline import ImageSplits
from enas_tf.search_spaces.base import SearchSpace
from enas_tf.training.steps import split_accuracy


def evaluate_architecture(steps, strategy: tf.distribute.Strategy, data: ImageSplits,
                          arc: tf.Tensor, batch_size: int, split: str = "valid") -> float:
    """Accuracy of ``arc`` with the shared weights over a whole split."""
    return split_accuracy(lambda images, labels: steps.count_correct(images, labels, arc),
                          strategy, data, split, batch_size)


def derive_architecture(steps, search_space: SearchSpace, data: ImageSplits,
                        strategy: tf.distribute.Strategy, num_samples: int, batch_size: int,
                        seed: int = 0) -> dict[str, Any]:
    """Returns the best of ``num_samples`` sampled architectures and its scores."""
    dataset = data.dataset("valid", batch_size, shuffle_seed=seed, drop_remainder=True)
    images, labels = next(iter(strategy.experimental_distribute_dataset(dataset)))
    best_arc, best_score, scores = None, -1.0, []
    for _ in range(num_samples):
        arc = steps.sample_arc()
        correct, total = steps.count_correct(images, labels, arc)
        score = float(correct) / float(total)
        scores.append(score)
        if score > best_score:
            best_arc, best_score = arc, score
    valid_accuracy = evaluate_architecture(steps, strategy, data, best_arc, batch_size)
    arc_values = search_space.validate(best_arc.numpy())
    logging.info("Scored %d sampled architectures on one validation batch: best %.4f, "
                 "mean %.4f.", num_samples, best_score, float(np.mean(scores)))
    return {"arc": list(arc_values),
            "architecture": search_space.to_json(arc_values),
            "minibatch_accuracy": best_score,
            "valid_accuracy": valid_accuracy,
            "num_samples": num_samples,
            "sampled_minibatch_accuracy_mean": float(np.mean(scores))}
