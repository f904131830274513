"""Peak host memory of a train step: the supernet against the fixed model of the same
architecture, same batch and settings (official search settings by default).

    python benchmarks/peak_memory.py                 # batch 160, C=20, 8 cells
    python benchmarks/peak_memory.py --search_space=macro   # batch 128, C=36, 12 layers

Each model runs in its own child process (so one's peak does not hide the other's),
``--repeats`` times, alternating, because the peak moves by up to 10% between runs with
the order in which TensorFlow's threads happen to run ops:
it builds the model and the step (CE + aux + L2, clipped Nesterov SGD), then takes the
first step (with tracing) and ``--steps`` more. Printed per model: resident memory
(RSS) once built, and the peak (``ru_maxrss``) over the steps; then the ratio of the
median peaks. CPU-only, so this is host memory; on a GPU read
``tf.config.experimental.get_memory_info`` instead.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys

import numpy as np
import tensorflow as tf
from absl import app, flags

import common
from common import FLAGS
from enas_tf.training.platform import describe_platform
from enas_tf.models.summary import trainable_parameters

flags.DEFINE_enum("model", None, ["fixed", "supernet"], "Internal: measure one model.")
flags.DEFINE_integer("seed", 0, "Seed of the controller that samples the architecture.")
flags.DEFINE_integer("repeats", 3, "Child runs per model; the median peak is compared.")


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(kind: str) -> dict:
    """Builds ``kind`` on the seed's architecture and measures its steps."""
    _, sample_arcs, fixed, supernet = common.models(seed=FLAGS.seed)
    arc = sample_arcs(1)[0]
    model, forward = fixed(arc) if kind == "fixed" else supernet()
    step = common.make_step(model, forward)
    batch = common.config().batch_size
    images = tf.random.normal([batch, 32, 32, 3])
    labels = tf.random.uniform([batch], 0, 10, tf.int32)
    built = _rss_mib()
    first, median = common.time_calls(lambda: step(images, labels, arc), FLAGS.steps)
    return {"parameters": trainable_parameters(model), "built_mib": built, "peak_mib": _peak_mib(),
            "first_s": first, "median_s": median}


def main(argv):
    del argv
    if FLAGS.model:
        print(json.dumps(measure(FLAGS.model)))
        return
    print(f"machine: {describe_platform()}", flush=True)
    print(common.settings())
    peaks = {"fixed": [], "supernet": []}
    for _ in range(FLAGS.repeats):
        for kind in peaks:
            child = subprocess.run(
                [sys.executable, os.path.abspath(__file__), f"--model={kind}",
                 *[arg for arg in sys.argv[1:] if not arg.startswith("--model")]],
                capture_output=True, text=True, check=False)
            if child.returncode:
                sys.exit(f"the {kind} run failed:\n{child.stderr[-2000:]}")
            r = json.loads(child.stdout.strip().splitlines()[-1])
            peaks[kind].append(r["peak_mib"])
            print(f"{kind:8s}: {r['parameters']:,} trainable parameters; RSS {r['built_mib']:.0f} MiB "
                  f"once built; peak {r['peak_mib']:.0f} MiB over {FLAGS.steps + 1} steps "
                  f"(first {r['first_s']:.1f}s, median {r['median_s']:.3f}s)", flush=True)
    fixed, supernet = (float(np.median(peaks[kind])) for kind in ("fixed", "supernet"))
    print(f"median peak: fixed {fixed:.0f} MiB, supernet {supernet:.0f} MiB; "
          f"supernet / fixed: {supernet / fixed:.2f}x")


if __name__ == "__main__":
    app.run(main)
