"""What keeps long runs safe: one run per output directory, a writable directory with
room, finite numbers, and a full disk reported as such.

Every check raises ``RunStateError``, ``NonFiniteError`` or ``DiskFullError`` with one
line that names the file or the epoch and says what to do, so the CLI never needs a
stack trace. (Signals: ``enas_tf.training.signals``; checkpoints:
``enas_tf.training.checkpoints``.)
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import glob
import math
import os
import shutil
import socket
from typing import Callable, Iterator, Sequence

LOCK_FILE = "run.lock"
MIN_FREE_BYTES = 4 * 2**20  # before the model is known: room for logs and settings
# Beyond the checkpoints: TensorBoard logs, history, the derived architecture's picture.
LOG_BYTES = 4 * 2**20
# What a run writes into its output directory (``--restart`` removes only these).
RUN_FILES = ("checkpoints", "tensorboard", "config.json", "history.json", "derived_arc.json",
             "derived_arc.png", "result.json", "model.keras", "savedmodel")


class RunStateError(ValueError):
    """The output directory or its saved state cannot be used; the message says why and
    what to do."""


class NonFiniteError(ArithmeticError):
    """A loss or weight became NaN or infinite; nothing of that epoch was saved."""


class DiskFullError(RuntimeError):
    """The disk filled while the run wrote something; earlier checkpoints are intact."""


def restart_hint(output_dir: str) -> str:
    return f"rerun with --restart to start over in {output_dir}, or use another --output_dir"


def check_output_dir(output_dir: str, min_free_bytes: int = MIN_FREE_BYTES) -> None:
    """Creates ``output_dir`` and refuses one that cannot be written or has too little
    free space, before any heavy work."""
    try:
        os.makedirs(output_dir, exist_ok=True)
        probe = os.path.join(output_dir, f".write_test_{os.getpid()}")
        with open(probe, "w") as f:
            f.write("ok")
        os.remove(probe)
    except OSError as error:
        raise RunStateError(f"cannot write to the output directory {output_dir}: "
                            f"{error.strerror or error}.") from None
    check_free_space(output_dir, min_free_bytes)


def required_free_bytes(variables: Sequence = (), max_to_keep: int = 1) -> int:
    """Room a run needs: ``max_to_keep + 1`` checkpoints (one is written before the
    oldest is deleted) of ``variables`` with up to two optimizer slots each, plus logs."""
    import numpy as np

    weights = sum(int(np.prod(v.shape)) * np.dtype(getattr(v.dtype, "name", v.dtype)).itemsize
                  for v in variables)
    return (max_to_keep + 1) * 3 * weights + LOG_BYTES


def check_free_space(output_dir: str, needed_bytes: int) -> None:
    """Refuses ``output_dir`` when its disk has less than ``needed_bytes`` free."""
    free = shutil.disk_usage(output_dir).free
    if free < needed_bytes:
        raise RunStateError(
            f"only {free / 2**20:.1f} MiB free in {output_dir}; this run needs about "
            f"{needed_bytes / 2**20:.1f} MiB (its checkpoints and logs): free some space, "
            "lower --max_checkpoints or use another --output_dir.")


def clear_run_files(output_dir: str) -> list[str]:
    """``--restart``: removes what an earlier run wrote (and nothing else); returns it."""
    removed = []
    for name in RUN_FILES:
        path = os.path.join(output_dir, name)
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif os.path.exists(path):
            os.remove(path)
        else:
            continue
        removed.append(name)
    return removed


class RunLock:
    """An exclusive ``flock`` on ``<output_dir>/run.lock`` held while a run runs. The
    kernel drops it when the process dies, so a killed run never leaves it stale.

    Example:

    ```python
    with RunLock(config.output_dir):
        ...  # train
    ```
    """

    def __init__(self, output_dir: str):
        self.path = os.path.join(output_dir, LOCK_FILE)
        self.file = None

    def acquire(self) -> "RunLock":
        handle = open(self.path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise RunStateError(
                f"{os.path.dirname(self.path)} is in use by another run ({holder}); wait "
                "for it to finish or use another --output_dir.") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}")
        handle.flush()
        self.file = handle
        return self

    def release(self) -> None:
        if self.file is not None:
            fcntl.flock(self.file, fcntl.LOCK_UN)
            self.file.close()
            self.file = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc_info):
        self.release()


def first_non_finite(values: Sequence) -> int | None:
    """Index of the first value that is NaN or infinite, else None."""
    for i, value in enumerate(values):
        if not math.isfinite(float(value)):
            return i
    return None


def check_finite(epoch: int, losses: Sequence, variables: Sequence,
                 last_checkpoint: str | None) -> None:
    """Before an epoch's checkpoint: every step's loss and every weight must be finite,
    else ``NonFiniteError`` naming the epoch (1-based), the step and the checkpoint a
    rerun resumes from."""
    import tensorflow as tf

    step = first_non_finite([tf.reduce_sum(tf.stack(losses))]) if losses else None
    if step is not None:
        step = first_non_finite(losses)
    weights_finite = all(bool(tf.reduce_all(tf.math.is_finite(v))) for v in variables)
    if step is None and weights_finite:
        return
    where = (f"the training loss became non-finite at epoch {epoch} step {step + 1}"
             if step is not None else f"a weight became non-finite in epoch {epoch}")
    raise NonFiniteError(
        f"{where}; nothing of this epoch was saved. The last good checkpoint is "
        f"{last_checkpoint or 'none (no epoch finished)'}; rerunning resumes from it, "
        "with a lower --lr_max or --grad_bound if it recurs.")


def is_disk_full(error: BaseException) -> bool:
    """An ``OSError`` for a full disk or quota, or TensorFlow's error wrapping one."""
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(error)
    return "No space left on device" in text or "Disk quota exceeded" in text


@contextlib.contextmanager
def writing(what: str) -> Iterator[None]:
    """Names what a block writes, so that a full disk inside it is reported as
    ``DiskFullError(what)`` instead of TensorFlow's or Python's long error."""
    try:
        yield
    except DiskFullError:
        raise
    except Exception as error:
        if not is_disk_full(error):
            raise
        raise DiskFullError(what) from None


def remove_partial_checkpoints(output_dir: str) -> None:
    """Deletes the ``*_temp`` directories a checkpoint write that failed leaves (our own
    files are written whole or removed: ``run_dir.replaced_whole``)."""
    pattern = os.path.join(glob.escape(output_dir), "checkpoints", "*_temp*")
    for path in glob.glob(pattern):
        if os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                os.remove(path)


def holds_run_lock(run: Callable) -> Callable:
    """Makes a loop's ``run`` method hold its ``config.output_dir``'s ``RunLock`` while it
    runs, so a second run on the same directory is refused rather than interleaved, and
    turns a full disk at any write into one ``DiskFullError`` line that names what could
    not be written and the checkpoint a rerun resumes from."""
    @functools.wraps(run)
    def locked(self, *args, **kwargs):
        output_dir = self.config.output_dir
        with RunLock(output_dir):
            try:
                return run(self, *args, **kwargs)
            except Exception as error:
                if not (isinstance(error, DiskFullError) or is_disk_full(error)):
                    raise
                remove_partial_checkpoints(output_dir)
                what = str(error) if isinstance(error, DiskFullError) else "a file"
                raise DiskFullError(
                    f"no space left on the disk of {output_dir} while writing {what}; "
                    f"{last_checkpoint_phrase(output_dir)}; free some space and rerun the "
                    "same command to resume.") from None
    return locked


def latest_checkpoint(output_dir: str) -> str | None:
    """The newest checkpoint the index of ``<output_dir>/checkpoints`` names, or None."""
    import tensorflow as tf

    return tf.train.latest_checkpoint(os.path.join(output_dir, "checkpoints"))


def last_checkpoint_phrase(output_dir: str) -> str:
    """"the last good checkpoint is .../ckpt-3 (epoch 3)", or that none was written."""
    latest = latest_checkpoint(output_dir)
    if latest is None:
        return "no epoch finished yet, so a rerun starts over"
    number = latest.rsplit("-", 1)[-1]
    return f"the last good checkpoint is {latest} (epoch {number})"
