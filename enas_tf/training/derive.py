"""Deriving the final architecture from a trained controller (ENAS paper, Sec. 3.2).

Sample several architectures from the policy, score each on the *same* validation
minibatch with the shared weights, keep the best, then measure it on the whole
validation split. For comparison, the policy's most likely architecture and uniformly
random architectures are measured the same way on the same weights: a derived
architecture that does not beat random ones means the search found nothing.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf
from absl import logging

from enas_tf.data.pipeline import ImageSplits
from enas_tf.search_spaces.base import SearchSpace
from enas_tf.training.progress import Progress
from enas_tf.training.steps import batches_accuracy, split_batches


def evaluate_architecture(steps, batches, arc) -> float:
    """Accuracy of ``arc`` with the shared weights over ``batches`` (``split_batches``)."""
    arc = tf.constant(arc, tf.int32)
    return batches_accuracy(lambda images, labels: steps.count_correct(images, labels, arc),
                            batches)


def derive_architecture(steps, search_space: SearchSpace, data: ImageSplits,
                        strategy: tf.distribute.Strategy, num_samples: int, batch_size: int,
                        seed: int = 0, num_random: int = 0, verbose: int = 0) -> dict[str, Any]:
    """Returns the best of ``num_samples`` sampled architectures, its scores, and the
    scores of the most likely and of ``num_random`` uniformly random architectures."""
    dataset = data.dataset("valid", batch_size, shuffle_seed=seed, drop_remainder=True)
    images, labels = next(iter(strategy.experimental_distribute_dataset(dataset)))
    progress = Progress(num_samples + 2 + num_random, verbose, "deriving", unit="architecture")
    best_arc, best_score, scores = None, -1.0, []
    for i in range(num_samples):
        arc = steps.sample_arc()
        correct, total = steps.count_correct(images, labels, arc)
        scores.append(float(correct) / float(total))
        if scores[-1] > best_score:
            best_arc, best_score = arc.numpy(), scores[-1]
        progress.update(i + 1, [("best minibatch accuracy", best_score)])

    valid_batches = split_batches(strategy, data, "valid", batch_size)

    def on_valid(arc):
        return evaluate_architecture(steps, valid_batches, arc)

    valid_accuracy = on_valid(best_arc)
    likely = search_space.validate(steps.most_likely_arc().numpy())
    likely_accuracy = on_valid(likely)
    progress.update(num_samples + 2)
    rng = np.random.default_rng(seed)
    random_accuracies = []
    for i in range(num_random):
        random_accuracies.append(on_valid(search_space.random_architecture(rng)))
        progress.update(num_samples + 3 + i)
    arc_values = search_space.validate(best_arc)
    logging.info("Scored %d sampled architectures on one validation batch: best %.4f, "
                 "mean %.4f.", num_samples, best_score, float(np.mean(scores)))
    result = {"arc": list(arc_values),
              "architecture": search_space.to_json(arc_values),
              "minibatch_accuracy": best_score,
              "valid_accuracy": valid_accuracy,
              "num_samples": num_samples,
              "sampled_minibatch_accuracy_mean": float(np.mean(scores)),
              "most_likely": {"arc": list(likely), "valid_accuracy": likely_accuracy}}
    if random_accuracies:
        result["random_architectures"] = {
            "num": num_random, "valid_accuracy_mean": float(np.mean(random_accuracies)),
            "valid_accuracy_std": float(np.std(random_accuracies)),
            "valid_accuracies": random_accuracies}
    return result


def search_facts(history: list[dict], result: dict[str, Any],
                 stat_names: tuple[str, ...] = ()) -> dict[str, Any]:
    """Did the search search? Entropy, sampled-architecture accuracy and the
    controller's own statistics (``stat_names``, e.g. the macro skip rate) at the first
    and last epoch, and the derived architecture against the mean of random ones."""
    facts: dict[str, Any] = {}
    if history:
        first, last = history[0], history[-1]
        pairs = [("controller_entropy", "controller_entropy"),
                 ("sampled_valid_accuracy", "controller_accuracy")]
        pairs += [(f"controller_{name}", f"controller_{name}") for name in stat_names]
        for name, key in pairs:
            facts[name] = {"first_epoch": first[key], "last_epoch": last[key]}
    random = result.get("random_architectures")
    if random:
        facts["derived_vs_random"] = {
            "derived_valid_accuracy": result["valid_accuracy"],
            "random_valid_accuracy_mean": random["valid_accuracy_mean"],
            "random_valid_accuracy_std": random["valid_accuracy_std"],
            "num_random": random["num"],
            "derived_beats_random_mean": result["valid_accuracy"] > random["valid_accuracy_mean"]}
    return facts


def describe_search_facts(facts: dict[str, Any]) -> list[str]:
    """The facts as lines for people."""
    lines = []
    if "controller_entropy" in facts:
        e, a = facts["controller_entropy"], facts["sampled_valid_accuracy"]
        lines.append(f"controller entropy: {e['first_epoch']:.2f} after the first epoch, "
                     f"{e['last_epoch']:.2f} after the last")
        lines.append(f"sampled architectures' validation accuracy (shared weights): "
                     f"{a['first_epoch']:.3f} after the first epoch, {a['last_epoch']:.3f} "
                     "after the last")
    for name, values in facts.items():
        if name.startswith("controller_") and name != "controller_entropy":
            lines.append(f"{name.replace('_', ' ')}: {values['first_epoch']:.3f} after the "
                         f"first epoch, {values['last_epoch']:.3f} after the last")
    if "derived_vs_random" in facts:
        d = facts["derived_vs_random"]
        verdict = "above" if d["derived_beats_random_mean"] else "NOT above"
        lines.append(f"derived architecture: {d['derived_valid_accuracy']:.3f} validation "
                     f"accuracy, {verdict} the mean of {d['num_random']} uniformly random "
                     f"architectures on the same weights ({d['random_valid_accuracy_mean']:.3f}"
                     f" +- {d['random_valid_accuracy_std']:.3f})")
    return lines
