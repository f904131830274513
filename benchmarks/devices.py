"""Search training images per second on 1 vs 2 devices (MirroredStrategy).

    python benchmarks/devices.py                     # official search settings
    python benchmarks/devices.py --num_devices=2     # GPUs if present, else logical CPUs

Both variants run the library's search train step (synchronised BN, one architecture per
step broadcast to all replicas) on the same global batch size. Without GPUs the CPU is
split into logical devices: this exercises the multi-device path, but both variants
share the same cores, so no speedup is expected there.
"""

from __future__ import annotations

import tensorflow as tf
from absl import app, flags

import common
from common import FLAGS
from enas_tf.training.platform import describe_platform
from enas_tf.distribute import make_strategy

flags.DEFINE_integer("num_devices", 2, "Devices of the multi-device variant.")


def main(argv):
    del argv
    many = make_strategy(num_devices=FLAGS.num_devices)  # first: may split the CPU
    print(f"machine: {describe_platform()}", flush=True)
    print(common.settings())
    print("devices:", ", ".join(d.name for d in tf.config.list_logical_devices()))
    rates = {}
    for strategy in (tf.distribute.get_strategy(), many):
        replicas = strategy.num_replicas_in_sync
        search = common.make_search(strategy)
        first, median = common.time_search_steps(search, FLAGS.steps)
        rates[replicas] = search.config.batch_size / median
        print(f"{replicas} device(s): first call {first:7.1f}s  median step {median:.3f}s  "
              f"{rates[replicas]:.1f} images/s", flush=True)
    print(f"images/s ratio {FLAGS.num_devices} devices / 1 device: "
          f"{rates[FLAGS.num_devices] / rates[1]:.2f}x")


if __name__ == "__main__":
    app.run(main)
