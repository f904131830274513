"""Did the search beat random? Train from scratch the derived architecture(s), the
published ENAS one and ``--random`` uniformly random ones, each over ``--seeds`` seeds,
on offline data, and print test accuracy per group and the derived architecture's rank.

The protocol is chosen so that architectures differ measurably: full final training on
digits saturates at 0.97-0.99 for almost any cell, so each network trains on a small
subset of the training digits (``--num_train``) for a few epochs, at the quick-start
final network's size (``flags/quickstart_micro_final.cfg``, with fewer epochs).

    python main.py --flagfile=flags/quickstart_micro.cfg          # writes the derived arc
    python benchmarks/search_vs_random.py --derived=runs/quickstart_micro/derived_arc.json

Several ``--derived`` files (e.g. searches with different seeds) are ranked together.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from absl import app, flags, logging  # noqa: E402

from enas_tf.config import FinalConfig  # noqa: E402
from enas_tf.data import load_digits  # noqa: E402
from enas_tf.export import load_architecture  # noqa: E402
from enas_tf.search_spaces.micro import PUBLISHED_ENAS_MICRO_ARC, MicroSearchSpace  # noqa: E402
from enas_tf.loops.final import FinalTraining  # noqa: E402
from enas_tf.training.platform import describe_platform  # noqa: E402

flags.DEFINE_list("derived", ["runs/quickstart_micro/derived_arc.json"],
                  "derived_arc.json files of searches (or files holding ENAS strings).")
flags.DEFINE_integer("random", 8, "Uniformly random architectures.")
flags.DEFINE_integer("seeds", 3, "Training seeds per architecture.")
flags.DEFINE_integer("num_train", 300, "Training digits each network sees.")
flags.DEFINE_integer("epochs", 10, "Training epochs.")
flags.DEFINE_integer("num_layers", 3, "Final network: num_layers + 2 cells.")
flags.DEFINE_integer("filters", 16, "Final network: channels C.")
flags.DEFINE_integer("batch_size", 32, "Batch size.")
flags.DEFINE_integer("arc_seed", 0, "Seed of the random architectures.")
FLAGS = flags.FLAGS
SPACE = MicroSearchSpace(5)


def train(arc, seed: int, data) -> float:
    """Test accuracy of ``arc`` trained from scratch with ``seed``."""
    config = FinalConfig(
        dataset="digits", num_valid=0, num_layers=FLAGS.num_layers, filters=FLAGS.filters,
        keep_prob=0.8, drop_path_keep_prob=0.6, aux_weight=0.0, cutout=3,
        batch_size=FLAGS.batch_size, num_epochs=FLAGS.epochs, l2_reg=2e-4, lr_max=0.05,
        lr_min=1e-4, lr_t0=FLAGS.epochs, eval_every=FLAGS.epochs, seed=seed, verbose=0,
        log_every=10_000, max_checkpoints=1, output_dir=tempfile.mkdtemp(prefix="svr_"))
    return float(FinalTraining(config, arc, data).run()["test_accuracy"])


def main(argv):
    del argv
    print(f"machine: {describe_platform()}", flush=True)
    logging.set_verbosity(logging.WARNING)
    full = load_digits(300, 0)
    images, labels = full.train
    data = dataclasses.replace(full, train=(images[:FLAGS.num_train], labels[:FLAGS.num_train]))
    groups = {}
    for i, path in enumerate(FLAGS.derived):
        groups[f"derived {i + 1}" if len(FLAGS.derived) > 1 else "derived"] = [
            load_architecture(SPACE, arc_file=path)]
    groups["published"] = [SPACE.from_string(PUBLISHED_ENAS_MICRO_ARC)]
    rng = np.random.default_rng(FLAGS.arc_seed)
    groups["random"] = [SPACE.random_architecture(rng) for _ in range(FLAGS.random)]
    print(f"digits: {FLAGS.num_train} training / {len(data.test[0])} test images, final "
          f"network {FLAGS.num_layers + 2} cells C={FLAGS.filters}, {FLAGS.epochs} epochs, "
          f"batch {FLAGS.batch_size}, {FLAGS.seeds} seeds per architecture", flush=True)
    began, per_arc = time.time(), []  # (group, arc, [accuracy per seed])
    for group, arcs in groups.items():
        for arc in arcs:
            accuracies = [train(arc, seed, data) for seed in range(FLAGS.seeds)]
            per_arc.append((group, arc, accuracies))
            print(f"  {group:10s} {np.mean(accuracies):.4f} +- {np.std(accuracies):.4f}  "
                  f"{SPACE.to_string(arc)}", flush=True)
    print("\n| group | architectures | test accuracy, mean +- std over architectures x seeds |")
    print("|---|---|---|")
    for group in groups:
        values = [a for g, _, accs in per_arc if g == group for a in accs]
        count = sum(1 for g, _, _ in per_arc if g == group)
        print(f"| {group} | {count} | {np.mean(values):.4f} +- {np.std(values):.4f} |")
    ranking = sorted(per_arc, key=lambda entry: -np.mean(entry[2]))
    for rank, (group, arc, accuracies) in enumerate(ranking, 1):
        if group.startswith("derived") or group == "published":
            print(f"{group}: rank {rank} of {len(ranking)} architectures "
                  f"(mean test accuracy {np.mean(accuracies):.4f})")
    print(f"wall time {time.time() - began:.0f} s")


if __name__ == "__main__":
    app.run(main)
