"""What every training run shares: its strategy and per-worker output directory,
resuming (saved settings checked first), the per-epoch data order and the start of each
training epoch."""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Iterator

import tensorflow as tf
from absl import logging

from enas_tf.data.pipeline import ImageSplits
from enas_tf.distribute.strategies import make_strategy, worker_output_dir
from enas_tf.training.schedules import cosine_restarts_lr

CONFIG_FILE = "config.json"
HISTORY_FILE = "history.json"


def setup_run(config, data: ImageSplits, strategy: tf.distribute.Strategy | None):
    """Returns ``(config, data, strategy)`` ready for a run.

    The strategy is the one given or the one ``config`` asks for (devices, workers); a
    non-chief worker writes to its own subdirectory of ``output_dir``; the data are
    served with ``config``'s input-pipeline options.
    """
    strategy = strategy or make_strategy(config.num_devices, config.device_list(),
                                         config.multi_worker)
    config = dataclasses.replace(
        config, output_dir=worker_output_dir(config.output_dir, strategy))
    return config, data.for_run(config), strategy


def check_and_save_config(config, resuming: bool) -> None:
    """Writes ``config`` to ``<output_dir>/config.json``.

    When ``resuming`` from a checkpoint, first refuses settings that differ from the saved
    run's in a way that would break it, naming each.
    """
    os.makedirs(config.output_dir, exist_ok=True)
    path = os.path.join(config.output_dir, CONFIG_FILE)
    if resuming and os.path.exists(path):
        with open(path) as f:
            saved = json.load(f)
        changed = config.incompatible_changes(saved)
        if changed:
            details = ", ".join(f"{k}: {saved[k]!r} -> {getattr(config, k)!r}" for k in changed)
            raise ValueError(
                f"{config.output_dir} holds a run with different settings ({details}); "
                "use another --output_dir or the original settings to resume.")
    with open(path, "w") as f:
        f.write(config.to_json())


def resume(config, checkpoint: tf.train.Checkpoint, manager: tf.train.CheckpointManager,
           epoch: tf.Variable) -> int:
    """Checks and saves the run's settings, then restores the latest checkpoint if any.

    Returns the number of finished epochs (``epoch`` is part of the checkpoint).
    """
    latest = manager.latest_checkpoint
    check_and_save_config(config, resuming=bool(latest))
    if latest:
        checkpoint.restore(latest).assert_existing_objects_matched()
        logging.info("Resumed from %s after epoch %d.", latest, int(epoch))
    return int(epoch)


def epoch_seed(seed: int, epoch: int) -> int:
    """The data-order seed of ``epoch``: a resumed run sees the same order as a fresh one."""
    return seed * 100_003 + epoch * 7


def start_training_epoch(config, epoch: int, optimizer, data, strategy,
                         cutout_size: int = 0) -> tuple[float, Iterator]:
    """Sets ``epoch``'s cosine-restart learning rate and returns it with a distributed
    iterator over the augmented training split in ``epoch``'s order."""
    lr = cosine_restarts_lr(epoch, config.lr_max, config.lr_min, config.lr_t0,
                            config.lr_t_mul)
    optimizer.learning_rate = lr
    dataset = data.dataset("train", config.batch_size,
                           shuffle_seed=epoch_seed(config.seed, epoch), augment=True,
                           cutout_size=cutout_size, repeat=True, drop_remainder=True)
    return lr, iter(strategy.experimental_distribute_dataset(dataset))


def write_json(path: str, data) -> None:
    """Writes ``data`` as JSON to a temporary file, then renames it over ``path``, so a
    killed run never leaves a half-written file."""
    temporary = f"{path}.tmp"
    with open(temporary, "w") as f:
        json.dump(data, f, indent=2)
    os.replace(temporary, path)


def load_history(output_dir: str, epochs_done: int) -> list[dict]:
    """The per-epoch records of the run in ``output_dir``, up to ``epochs_done`` (a run
    killed after writing a record but before its checkpoint redoes that epoch)."""
    path = os.path.join(output_dir, HISTORY_FILE)
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [record for record in json.load(f) if record["epoch"] <= epochs_done]


def save_history(output_dir: str, history: list[dict]) -> None:
    write_json(os.path.join(output_dir, HISTORY_FILE), history)
