"""Which machine and TensorFlow kernel path a run or a benchmark measured.

TensorFlow's CPU builds carry two kernel families: oneDNN's, on by default only on CPUs
with AVX-512 VNNI / BF16 / AMX-class features (or with ``TF_ENABLE_ONEDNN_OPTS=1``), and
its own Eigen kernels everywhere else (``TF_ENABLE_ONEDNN_OPTS=0``). Speed and even the
set of gradients differ between them, so every benchmark header and every run's first
log line say which one ran.

Example:

```python
print(describe_platform())   # "AMD EPYC, 2 CPU cores, oneDNN: off, TF 2.21.0, no GPU"
```
"""

from __future__ import annotations

import os
import platform


def onednn_enabled() -> bool:
    """Whether TensorFlow's oneDNN CPU kernels are on in this process."""
    try:
        from tensorflow.python.util import _pywrap_util_port
    except ImportError:  # a TensorFlow without the probe: trust the switch, else x86 default
        return os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1") not in ("0", "false", "False")
    return bool(_pywrap_util_port.IsMklEnabled())


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), or what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def describe_platform() -> str:
    """One line: CPU model, cores, the CPU kernel path, TensorFlow, GPUs."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    return (f"{cpu_model()}, {os.cpu_count()} CPU cores, "
            f"oneDNN: {'on' if onednn_enabled() else 'off'}, TF {tf.__version__}, "
            f"{f'{len(gpus)} GPU(s)' if gpus else 'no GPU'}")


def determinism_refusal(error: BaseException) -> str | None:
    """The one-line message for an op TensorFlow refused under op determinism, or None
    when ``error`` is something else.

    ``tf.config.experimental.enable_op_determinism()`` makes TensorFlow raise when an op
    has no deterministic kernel on this device (or a random op has no seed); the
    message names the op, and the fix is to run without ``--deterministic``.
    """
    text = str(error)
    if "determinis" not in text.lower():
        return None
    first = next((line.strip() for line in text.splitlines() if "determinis" in line.lower()),
                 text.strip())
    return (f"--deterministic: TensorFlow refused an op of this run under op determinism "
            f"({first[:200]}); rerun without --deterministic.")
