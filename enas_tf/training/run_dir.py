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
from enas_tf.training.safety import (RunLock, RunStateError, check_output_dir,
                                    clear_run_files, restart_hint)
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
    check_output_dir(config.output_dir)
    RunLock(config.output_dir).acquire().release()  # another run here: refuse before work
    if config.restart:
        removed = clear_run_files(config.output_dir)
        if removed:
            logging.info("--restart: removed %s from %s.", ", ".join(removed), config.output_dir)
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    return config, data.for_run(config), strategy


def model_state(model) -> list:
    """Every variable of ``model``: weights, batch-norm statistics and the Keras seed
    generators' states (dropout, drop-path, the language models' masks), to checkpoint
    as a list. ``tf.train.Checkpoint(model=...)`` alone misses the variables of layers
    Keras 3 keeps in lists (it saved 6 of a final network's 127), so a resumed run would
    restart its batch-norm statistics and random masks."""
    return list(model.variables)


def checkpoint_manager(checkpoint: tf.train.Checkpoint, output_dir: str,
                       max_to_keep: int) -> tf.train.CheckpointManager:
    """The run's checkpoints in ``<output_dir>/checkpoints``; a garbled index file is
    refused naming it."""
    directory = os.path.join(output_dir, "checkpoints")
    index = os.path.join(directory, "checkpoint")
    # TensorFlow ignores a garbled index file (and would start over): refuse it instead.
    if os.path.exists(index) and tf.train.get_checkpoint_state(directory) is None:
        raise RunStateError(f"{index} cannot be read; {restart_hint(output_dir)}.")
    return tf.train.CheckpointManager(checkpoint, directory, max_to_keep=max_to_keep)


def _read_json(path: str, output_dir: str):
    try:
        with open(path) as f:
            return json.load(f)
    except (ValueError, UnicodeDecodeError) as error:
        raise RunStateError(f"{path} is not valid JSON ({error}); "
                            f"{restart_hint(output_dir)}.") from None


def check_and_save_config(config, resuming: bool) -> None:
    """Writes ``config`` to ``<output_dir>/config.json``.

    When ``resuming`` from a checkpoint, first refuses settings that differ from the saved
    run's in a way that would break it, naming each.
    """
    os.makedirs(config.output_dir, exist_ok=True)
    path = os.path.join(config.output_dir, CONFIG_FILE)
    if resuming and os.path.exists(path):
        saved = _read_json(path, config.output_dir)
        changed = config.incompatible_changes(saved)
        if changed:
            details = ", ".join(f"{k}: {saved[k]!r} -> {getattr(config, k)!r}" for k in changed)
            raise ValueError(
                f"{config.output_dir} holds a run with different settings ({details}); "
                "use another --output_dir or the original settings to resume.")
    write_json(path, config.to_dict())


def resume(config, checkpoint: tf.train.Checkpoint, manager: tf.train.CheckpointManager,
           epoch: tf.Variable) -> int:
    """Checks and saves the run's settings, then restores the latest checkpoint if any.

    Returns the number of finished epochs (``epoch`` is part of the checkpoint).
    """
    latest = manager.latest_checkpoint
    check_and_save_config(config, resuming=bool(latest))
    if latest:
        try:
            checkpoint.restore(latest).assert_existing_objects_matched()
        except Exception as error:  # truncated or garbled files raise assorted TF errors
            message = str(error).strip().splitlines()[0][:200] if str(error) else ""
            raise RunStateError(f"checkpoint {latest} cannot be restored "
                                f"({type(error).__name__}: {message}); "
                                f"{restart_hint(config.output_dir)}.") from None
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


def save_model(model, path: str) -> str:
    """``model.save`` to a temporary name, then a rename over ``path``: a killed run
    never leaves a half-written ``.keras`` file."""
    temporary = f"{path[:-len('.keras')]}.partial.keras" if path.endswith(".keras") else (
        f"{path}.partial")
    model.save(temporary)
    os.replace(temporary, path)
    return path


def load_history(output_dir: str, epochs_done: int) -> list[dict]:
    """The per-epoch records of the run in ``output_dir``, up to ``epochs_done`` (a run
    killed after writing a record but before its checkpoint redoes that epoch)."""
    path = os.path.join(output_dir, HISTORY_FILE)
    if not os.path.exists(path):
        return []
    records = _read_json(path, output_dir)
    if not isinstance(records, list) or not all(
            isinstance(r, dict) and "epoch" in r for r in records):
        raise RunStateError(f"{path} is not a list of epoch records; "
                            f"{restart_hint(output_dir)}.")
    return [record for record in records if record["epoch"] <= epochs_done]


def save_history(output_dir: str, history: list[dict]) -> None:
    write_json(os.path.join(output_dir, HISTORY_FILE), history)
