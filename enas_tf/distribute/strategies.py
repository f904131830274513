"""Choosing the ``tf.distribute`` strategy of a run: one device, several, or machines.

``make_strategy`` is called once, at program start, before TensorFlow touches a device
(splitting the CPU into logical devices is only possible then).
"""

from __future__ import annotations

import json
import os
from typing import Sequence

import tensorflow as tf
from absl import logging


class DistributionError(ValueError):
    """The requested devices or cluster cannot be set up; the message says why."""


# Strategies made so far, by devices: runs in one process (a notebook, tests) share them.
_STRATEGIES: dict[tuple[str, ...], tf.distribute.Strategy] = {}
# Collective group keys of each new strategy start this far after the previous one's:
# two strategies with the same keys would mix up their collectives.
_KEY_SPACING = 100_000


def _new_mirrored_strategy(devices: Sequence[str]) -> tf.distribute.Strategy:
    tf.distribute.MirroredStrategy._collective_key_base = (  # pylint: disable=protected-access
        _KEY_SPACING * (len(_STRATEGIES) + 1))
    return tf.distribute.MirroredStrategy(devices)


def _split_cpu(num_devices: int) -> None:
    """Splits the physical CPU into ``num_devices`` logical CPUs (no GPUs present)."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    current = tf.config.get_logical_device_configuration(cpu)
    if current and len(current) >= num_devices:
        return
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * num_devices)
    except RuntimeError as error:
        raise DistributionError(
            f"cannot split the CPU into {num_devices} devices: TensorFlow is already "
            f"initialised ({error}). Call make_strategy before any other TensorFlow work."
        ) from None


def _local_devices(num_devices: int) -> list[str]:
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        if num_devices > len(gpus):
            raise DistributionError(f"num_devices={num_devices} but only {len(gpus)} GPU(s) "
                                    f"are visible: {', '.join(g.name for g in gpus)}.")
        return [f"/gpu:{i}" for i in range(num_devices)]
    if num_devices > 1:
        logging.warning("No GPU found: splitting the CPU into %d logical devices. This "
                        "runs the multi-device code paths but is not faster.", num_devices)
        _split_cpu(num_devices)
    return [f"/cpu:{i}" for i in range(num_devices)]


def _check_devices(devices: Sequence[str]) -> list[str]:
    """Validates explicit device names against this machine's devices."""
    devices = [d.strip() for d in devices if d.strip()]
    if not devices:
        raise DistributionError("devices is empty; give e.g. '/gpu:0,/gpu:1'.")
    if len(set(devices)) != len(devices):
        raise DistributionError(f"devices lists a device twice: {', '.join(devices)}.")
    try:
        specs = [tf.DeviceSpec.from_string(d) for d in devices]
    except ValueError as error:
        raise DistributionError(f"malformed device name in {devices}: {error}") from None
    cpu_indices = [s.device_index or 0 for s in specs if (s.device_type or "").upper() == "CPU"]
    if len(cpu_indices) > 1 and not tf.config.list_physical_devices("GPU"):
        _split_cpu(max(cpu_indices) + 1)
    available = {(d.device_type, int(d.name.rsplit(":", 1)[1]))
                 for d in tf.config.list_logical_devices()}
    for device, spec in zip(devices, specs):
        if (str(spec.device_type).upper(), spec.device_index or 0) not in available:
            raise DistributionError(
                f"unknown device {device!r}; available: "
                f"{', '.join(sorted(d.name for d in tf.config.list_logical_devices()))}.")
    return devices


def _check_tf_config() -> dict:
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        raise DistributionError(
            "multi_worker needs the TF_CONFIG environment variable, e.g. "
            '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
            '"task": {"type": "worker", "index": 0}}.')
    try:
        config = json.loads(raw)
        workers = config["cluster"]["worker"]
        task = config["task"]
        index = int(task["index"])
    except (ValueError, KeyError, TypeError) as error:
        raise DistributionError(f"TF_CONFIG is malformed ({error!r}): {raw}") from None
    if task.get("type") not in ("worker", "chief") or not 0 <= index < len(workers) + 1:
        raise DistributionError(f"TF_CONFIG task {task} does not fit cluster {workers}.")
    return config


def make_strategy(num_devices: int = 1, devices: Sequence[str] | None = None,
                  multi_worker: bool = False) -> tf.distribute.Strategy:
    """The strategy for a run.

    Args:
      num_devices: replicas on this machine: the first ``num_devices`` GPUs, or (no GPU)
        the CPU split into that many logical devices. 1 gives the default strategy.
      devices: explicit device names instead of ``num_devices`` (e.g. ``["/gpu:0",
        "/gpu:2"]``).
      multi_worker: one replica per machine of the cluster in ``TF_CONFIG``
        (``MultiWorkerMirroredStrategy``).
    """
    if num_devices < 1:
        raise DistributionError(f"num_devices must be >= 1, got {num_devices}.")
    if multi_worker:
        if devices or num_devices > 1:
            raise DistributionError("multi_worker runs one replica per worker; do not "
                                    "combine it with num_devices or devices.")
        config = _check_tf_config()
        if ("multi_worker",) not in _STRATEGIES:
            _STRATEGIES[("multi_worker",)] = tf.distribute.MultiWorkerMirroredStrategy()
            logging.info("MultiWorkerMirroredStrategy: task %s of cluster %s.",
                         config["task"], config["cluster"])
        return _STRATEGIES[("multi_worker",)]
    chosen = _check_devices(devices) if devices else _local_devices(num_devices)
    if len(chosen) == 1:
        if chosen[0].lower() in ("/cpu:0", "/gpu:0"):
            return tf.distribute.get_strategy()
        return tf.distribute.OneDeviceStrategy(chosen[0])
    key = tuple(chosen)
    if key not in _STRATEGIES:
        logging.info("MirroredStrategy over %s.", ", ".join(chosen))
        _STRATEGIES[key] = _new_mirrored_strategy(chosen)
    return _STRATEGIES[key]


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes the run's files (true except on non-chief workers)."""
    resolver = strategy.cluster_resolver
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().jobs
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


def worker_output_dir(output_dir: str, strategy: tf.distribute.Strategy) -> str:
    """``output_dir`` for the chief; a private subdirectory for other workers.

    Every worker must save checkpoints (saving is collective under multi-worker
    strategies), but only the chief's files are the run's.
    """
    if is_chief(strategy):
        return output_dir
    return os.path.join(output_dir, "workers",
                        f"{strategy.cluster_resolver.task_type}_"
                        f"{strategy.cluster_resolver.task_id}")
