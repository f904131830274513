"""The device settings of a run: replicas on this machine, or one per worker.

Example:

```python
DeviceSettings(devices="/gpu:0,/gpu:1").device_list()   # ['/gpu:0', '/gpu:1']
```
"""

from __future__ import annotations

import dataclasses

from enas_tf.options import Settings, need, option


@dataclasses.dataclass
class DeviceSettings(Settings):
    """Where the replicas run; ``check`` also needs the run's ``batch_size``."""

    num_devices: int = option(
        1, "Replicas on this machine (MirroredStrategy): the first N GPUs, or without GPUs "
        "the CPU split into N logical devices.", minimum=1, resumable=True)
    devices: str | None = option(
        None, "Comma-separated devices to mirror over (e.g. /gpu:0,/gpu:2); overrides "
        "--num_devices.", resumable=True)
    multi_worker: bool = option(
        False, "One replica per worker of the TF_CONFIG cluster "
        "(MultiWorkerMirroredStrategy); start the same command on every worker.",
        resumable=True)

    MODES = ("search", "final")

    def device_list(self) -> list[str] | None:
        """``devices`` as a list of names, or None when unset."""
        if not self.devices:
            return None
        return [name.strip() for name in self.devices.split(",") if name.strip()]

    def check(self) -> None:
        replicas = len(self.device_list()) if self.devices else self.num_devices
        batch_size = getattr(self, "batch_size", replicas)
        need(batch_size % replicas == 0,
             f"batch_size={batch_size} does not split evenly over {replicas} devices.")
        need(not (self.multi_worker and (self.devices or self.num_devices > 1)),
             "multi_worker runs one replica per worker; drop num_devices/devices.")
