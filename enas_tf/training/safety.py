"""What keeps long runs safe: one run per output directory, a writable directory with
room, readable saved state, finite numbers, a clean stop on SIGTERM.

Every check raises ``RunStateError`` (or ``NonFiniteError``) with one line that names
the file or the epoch and says what to do, so the CLI never needs a stack trace.
"""

from __future__ import annotations

import fcntl
import functools
import math
import os
import shutil
import signal
import socket
from typing import Callable, Sequence

LOCK_FILE = "run.lock"
MIN_FREE_BYTES = 64 * 2**20  # below this a checkpoint may not fit
# What a run writes into its output directory (``--restart`` removes only these).
RUN_FILES = ("checkpoints", "tensorboard", "config.json", "history.json", "derived_arc.json",
             "derived_arc.png", "result.json", "model.keras", "savedmodel")


class RunStateError(ValueError):
    """The output directory or its saved state cannot be used; the message says why and
    what to do."""


class NonFiniteError(ArithmeticError):
    """A loss or weight became NaN or infinite; nothing of that epoch was saved."""


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
    free = shutil.disk_usage(output_dir).free
    if free < min_free_bytes:
        raise RunStateError(f"only {free / 2**20:.0f} MiB free in {output_dir}; a run needs "
                            f"at least {min_free_bytes / 2**20:.0f} MiB for its checkpoints.")


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

    Example::

        with RunLock(config.output_dir):
            ...  # train
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


def stop_on_sigterm(handler: Callable | None = None) -> None:
    """SIGTERM (a scheduler's stop) raises ``KeyboardInterrupt`` as Ctrl-C does, so the
    CLI stops the same clean way: the last checkpoint is kept, nothing half-written."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, handler or interrupt)


def holds_run_lock(run: Callable) -> Callable:
    """Makes a loop's ``run`` method hold its ``config.output_dir``'s ``RunLock`` while it
    runs, so a second run on the same directory is refused rather than interleaved."""
    @functools.wraps(run)
    def locked(self, *args, **kwargs):
        with RunLock(self.config.output_dir):
            return run(self, *args, **kwargs)
    return locked
