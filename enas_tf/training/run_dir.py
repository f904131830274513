"""What every training run shares: its strategy and per-worker output directory,
resuming (saved settings checked first), the per-epoch data order and the start of each
training epoch."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from typing import Iterator

import tensorflow as tf
from absl import logging

from enas_tf.data.pipeline import ImageSplits
from enas_tf.distribute.strategies import make_strategy, worker_output_dir
from enas_tf.training.checkpoints import RunCheckpoints
from enas_tf.training.safety import (RunLock, RunStateError, check_output_dir,
                                    clear_run_files, restart_hint, writing)
from enas_tf.training.schedules import epoch_learning_rate

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


def _read_json(path: str, output_dir: str):
    try:
        with open(path) as f:
            return json.load(f)
    except (ValueError, UnicodeDecodeError) as error:
        raise RunStateError(f"{path} is not valid JSON ({error}); "
                            f"{restart_hint(output_dir)}.") from None


def refuse_changed_settings(config) -> None:
    """Refuses settings that differ from those saved in ``<output_dir>/config.json`` in a
    way that would break the run there (before its checkpoint is restored), naming each."""
    path = os.path.join(config.output_dir, CONFIG_FILE)
    if not os.path.exists(path):
        return
    saved = _read_json(path, config.output_dir)
    changed = config.incompatible_changes(saved)
    if changed:
        details = ", ".join(f"{k}: {saved[k]!r} -> {getattr(config, k)!r}" for k in changed)
        raise ValueError(
            f"{config.output_dir} holds a run with different settings ({details}); "
            "use another --output_dir or the original settings to resume.")


def check_and_save_config(config, resumed_from: str | None, epochs_done: int = 0) -> None:
    """Writes ``config`` to ``<output_dir>/config.json``.

    When the run resumed from the checkpoint ``resumed_from``, first refuses a missing
    ``config.json`` (the settings it was trained with would be unknown) and fewer
    ``num_epochs`` than the checkpoint has finished.
    """
    os.makedirs(config.output_dir, exist_ok=True)
    path = os.path.join(config.output_dir, CONFIG_FILE)
    if resumed_from:
        if not os.path.exists(path):
            raise RunStateError(
                f"{path} is missing although {config.output_dir} holds checkpoint "
                f"{os.path.basename(resumed_from)}: the settings it was trained with are "
                f"unknown; put the file back, or {restart_hint(config.output_dir)}.")
        if config.num_epochs < epochs_done:
            raise RunStateError(
                f"{config.output_dir} holds a run of {epochs_done} finished epochs; "
                f"--num_epochs={config.num_epochs} would undo them: give --num_epochs >= "
                f"{epochs_done} to continue it, or {restart_hint(config.output_dir)}.")
    write_json(path, config.to_dict())


def resume(config, checkpoints: RunCheckpoints, epoch: tf.Variable) -> int:
    """Restores the newest intact checkpoint if any (settings checked against the saved
    ones first), then checks and saves the run's settings against it.

    Returns the number of finished epochs (``epoch`` is part of the checkpoint).
    """
    if checkpoints.exist():
        refuse_changed_settings(config)
    latest = checkpoints.restore()
    check_and_save_config(config, latest, int(epoch))
    if latest:
        logging.info("Resumed from %s after epoch %d.", latest, int(epoch))
    return int(epoch)


def summary_writer(output_dir: str):
    """The run's TensorBoard writer (``<output_dir>/tensorboard``)."""
    return tf.summary.create_file_writer(os.path.join(output_dir, "tensorboard"))


def save_summaries(writer) -> None:
    """Flushes ``writer``; a full disk becomes ``DiskFullError``."""
    with writing("the TensorBoard summaries"):
        writer.flush()


def epoch_seed(seed: int, epoch: int) -> int:
    """The data-order seed of ``epoch``: a resumed run sees the same order as a fresh one."""
    return seed * 100_003 + epoch * 7


def start_training_epoch(config, epoch: int, optimizer, data, strategy,
                         cutout_size: int = 0) -> tuple[float, Iterator]:
    """Sets ``epoch``'s learning rate (``config``'s schedule) and returns it with a distributed
    iterator over the augmented training split in ``epoch``'s order."""
    lr = epoch_learning_rate(config, epoch)
    optimizer.learning_rate = lr
    dataset = data.dataset("train", config.batch_size,
                           shuffle_seed=epoch_seed(config.seed, epoch), augment=True,
                           cutout_size=cutout_size, repeat=True, drop_remainder=True)
    return lr, iter(strategy.experimental_distribute_dataset(dataset))


@contextlib.contextmanager
def replaced_whole(path: str, temporary: str, what: str) -> Iterator[str]:
    """Yields ``temporary`` to write to, then renames it over ``path``: a killed run never
    leaves ``path`` half-written, and a failed write (a full disk is ``DiskFullError``
    naming ``what``) leaves no temporary file."""
    with writing(what):
        try:
            yield temporary
            os.replace(temporary, path)
        finally:
            if os.path.exists(temporary):
                os.remove(temporary)


def write_json(path: str, data) -> None:
    """Writes ``data`` as JSON to ``path``, whole or not at all."""
    with replaced_whole(path, f"{path}.tmp", os.path.basename(path)) as temporary:
        with open(temporary, "w") as f:
            json.dump(data, f, indent=2)


def save_model(model, path: str) -> str:
    """``model.save`` to a temporary name, then a rename over ``path``: a killed run
    never leaves a half-written ``.keras`` file."""
    temporary = f"{path[:-len('.keras')]}.partial.keras" if path.endswith(".keras") else (
        f"{path}.partial")
    with replaced_whole(path, temporary, f"the model {os.path.basename(path)}"):
        model.save(temporary)
    return path


def load_history(output_dir: str, epochs_done: int, newest_saved: int | None = None
                 ) -> list[dict]:
    """The per-epoch records of the run in ``output_dir``, up to ``epochs_done``.

    A run killed after writing a record but before its checkpoint redoes that epoch, and
    one resumed from an older checkpoint (the newer ones damaged) redoes the epochs
    after it, so records up to ``newest_saved + 1`` (the newest checkpoint ever written)
    are expected and the later ones dropped. Missing records, or records of epochs no
    checkpoint was written for (checkpoints lost), are a ``RunStateError``.
    """
    path = os.path.join(output_dir, HISTORY_FILE)
    newest_saved = epochs_done if newest_saved is None else max(newest_saved, epochs_done)
    records = _read_json(path, output_dir) if os.path.exists(path) else []
    if not isinstance(records, list) or not all(
            isinstance(r, dict) and "epoch" in r for r in records):
        raise RunStateError(f"{path} is not a list of epoch records; "
                            f"{restart_hint(output_dir)}.")
    kept = [record for record in records if record["epoch"] <= epochs_done]
    if [record["epoch"] for record in kept] != list(range(1, epochs_done + 1)):
        state = ("is missing" if not os.path.exists(path) else
                 f"holds records of epochs {_epochs(kept)}")
        raise RunStateError(
            f"{path} {state} but the checkpoint holds {epochs_done} finished epochs: put "
            f"the file back, or {restart_hint(output_dir)}.")
    if len(records) > newest_saved + 1:
        raise RunStateError(
            f"{path} records {len(records)} finished epochs but the newest checkpoint in "
            f"{os.path.join(output_dir, 'checkpoints')} is of epoch {newest_saved}"
            f"{'' if newest_saved else ' (none is there)'}: the checkpoints were lost; put "
            f"them back, or {restart_hint(output_dir)}.")
    return kept


def _epochs(records: list[dict]) -> str:
    return ", ".join(str(r["epoch"]) for r in records) or "none"


def save_history(output_dir: str, history: list[dict]) -> None:
    write_json(os.path.join(output_dir, HISTORY_FILE), history)
