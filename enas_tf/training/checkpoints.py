"""A run's checkpoints: one per finished epoch in ``<output_dir>/checkpoints``, and on
resume the newest one that is intact.

TensorFlow's ``CheckpointManager`` trusts its index file (``checkpoints/checkpoint``):
without it a run starts over and rotates the good checkpoints away; with a damaged
newest checkpoint it has nothing to fall back on. ``RunCheckpoints`` takes the files on
disk as the truth: a lost or garbled index is rebuilt from them, and a checkpoint whose
files are missing or do not read back whole is passed over for the one before it, each
said in one log line.

Example:

```python
checkpoints = RunCheckpoints(tf.train.Checkpoint(model=model, epoch=epoch),
                             "runs/x", max_to_keep=5, variables=model.variables)
checkpoints.restore()                        # the newest intact one, if any
checkpoints.save(checkpoint_number=epoch + 1)
```
"""

from __future__ import annotations

import glob
import os
import re

import tensorflow as tf
from absl import logging

from enas_tf.training.safety import (RunStateError, check_free_space, required_free_bytes,
                                     restart_hint)

_NUMBERED = re.compile(r"ckpt-(\d+)\.index$")


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text.splitlines()[0][:160]}" if text else (
        type(error).__name__)


def unreadable_reason(prefix: str) -> str | None:
    """Why the checkpoint ``prefix`` cannot be read back whole (a missing, truncated or
    garbled index or data file), or None when every tensor reads with its checksum."""
    try:
        reader = tf.train.load_checkpoint(prefix)
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)
    except Exception as error:  # TensorFlow raises assorted errors for damaged files
        return _first_line(error)
    return None


class RunCheckpoints:
    """Saves and restores a run's ``tf.train.Checkpoint``.

    Args:
      checkpoint: everything a resumed run needs.
      output_dir: the run's directory; checkpoints go to its ``checkpoints/``.
      max_to_keep: checkpoints kept (older ones are deleted as new ones are saved).
      variables: the model's and optimizer's variables, to refuse a disk without room
        for ``max_to_keep`` checkpoints of them before any training.
    """

    def __init__(self, checkpoint: tf.train.Checkpoint, output_dir: str, max_to_keep: int,
                 variables=()):
        self.checkpoint, self.output_dir, self.max_to_keep = checkpoint, output_dir, max_to_keep
        self.directory = os.path.join(output_dir, "checkpoints")
        self.index = os.path.join(self.directory, "checkpoint")
        check_free_space(output_dir, required_free_bytes(variables, max_to_keep))
        self._manager = None
        self.newest_saved = 0  # the highest epoch a checkpoint was ever written for

    @property
    def manager(self) -> tf.train.CheckpointManager:
        if self._manager is None:
            self._manager = tf.train.CheckpointManager(self.checkpoint, self.directory,
                                                       max_to_keep=self.max_to_keep)
        return self._manager

    @property
    def latest_checkpoint(self) -> str | None:
        return self.manager.latest_checkpoint

    def save(self, checkpoint_number: int) -> str:
        return self.manager.save(checkpoint_number=checkpoint_number)

    def exist(self) -> bool:
        """Whether any checkpoint was written (intact or not)."""
        return bool(self._numbered_on_disk() or self._listed_in_index())

    def restore(self) -> str | None:
        """Restores the newest intact checkpoint and returns its path (None: nothing to
        resume). Raises ``RunStateError`` when checkpoints exist but none is intact, or
        when the intact one does not fit the run."""
        on_disk = self._numbered_on_disk()
        listed = self._listed_in_index()
        candidates = sorted({*on_disk, *(listed or [])}, key=self._number, reverse=True)
        self.newest_saved = self._number(candidates[0]) if candidates else 0
        passed_over = []
        for prefix in candidates:
            reason = ("its files are missing" if prefix not in on_disk
                      else unreadable_reason(prefix))
            if reason is None:
                break
            passed_over.append((prefix, reason))
        else:
            prefix = None
        if passed_over:
            bad, reason = passed_over[0]
            if prefix is None:
                raise RunStateError(
                    f"checkpoint {bad} cannot be restored ({reason})"
                    f"{' and no earlier one is intact' if len(candidates) > 1 else ''}; "
                    f"{restart_hint(self.output_dir)}.")
            skipped = ", ".join(os.path.basename(p) for p, _ in passed_over)
            logging.warning("checkpoint %s cannot be restored (%s); resuming from %s, the "
                            "newest intact one (%s set aside).", bad, reason,
                            os.path.basename(prefix), skipped)
        if prefix is None:
            return None
        if listed is None or passed_over or (listed and listed[-1] != prefix):
            if listed is None:
                logging.warning("%s was %s; rebuilt it from the checkpoint files there.",
                                self.index, "missing" if not os.path.exists(self.index)
                                else "unreadable")
            kept = [p for p in sorted(on_disk, key=self._number)
                    if self._number(p) <= self._number(prefix)]
            tf.compat.v1.train.update_checkpoint_state(self.directory, prefix,
                                                       all_model_checkpoint_paths=kept)
        self._manager = None  # re-read the (possibly rebuilt) index
        try:
            self.checkpoint.restore(prefix).assert_existing_objects_matched()
        except Exception as error:  # intact files that do not fit this run's model
            raise RunStateError(f"checkpoint {prefix} cannot be restored "
                                f"({_first_line(error)}); "
                                f"{restart_hint(self.output_dir)}.") from None
        return prefix

    # --- internals -----------------------------------------------------------------

    @staticmethod
    def _number(prefix: str) -> int:
        match = _NUMBERED.search(f"{prefix}.index")
        return int(match.group(1)) if match else -1

    def _numbered_on_disk(self) -> list[str]:
        return [path[:-len(".index")] for path in
                glob.glob(os.path.join(glob.escape(self.directory), "ckpt-*.index"))
                if _NUMBERED.search(path)]

    def _listed_in_index(self) -> list[str] | None:
        """The checkpoints the index lists, oldest first; None when it is missing or
        cannot be read."""
        if not os.path.exists(self.index):
            return None
        try:
            state = tf.train.get_checkpoint_state(self.directory)
        except Exception:  # noqa: BLE001 (a garbled text proto raises ParseError)
            state = None
        if state is None:
            return None
        return [os.path.join(self.directory, os.path.basename(p))
                for p in state.all_model_checkpoint_paths]
