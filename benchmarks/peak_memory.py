"""Peak host memory of a search train step at the official search settings.

    python benchmarks/peak_memory.py                 # batch 160, C=20, 8 cells

Measures the process's resident memory (RSS) once the supernet and optimizer are built,
and its peak (``ru_maxrss``) after the first step (which includes tracing) and after
``--steps`` more steps, each with a new architecture. On a GPU machine read
``tf.config.experimental.get_memory_info`` instead; this CPU-only measure is the host's.
"""

from __future__ import annotations

import resource

import tensorflow as tf
from absl import app

import common
from common import FLAGS


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv):
    del argv
    print(common.settings())
    search = common.make_search(tf.distribute.get_strategy())
    built_rss, built_peak = _rss_mib(), _peak_mib()
    params = search.supernet.count_params()
    print(f"supernet: {params:,} parameters ({params * 4 / 2**20:.1f} MiB float32)")
    print(f"after building supernet + optimizer: RSS {built_rss:.0f} MiB, peak {built_peak:.0f} MiB")
    first, median = common.time_search_steps(search, FLAGS.steps)
    print(f"after {FLAGS.steps + 1} search steps (first {first:.1f}s incl. tracing, median "
          f"{median:.3f}s): RSS {_rss_mib():.0f} MiB, peak {_peak_mib():.0f} MiB")
    print(f"peak increase over the built model: {_peak_mib() - built_rss:.0f} MiB "
          f"({(_peak_mib() - built_rss) / FLAGS.batch_size:.1f} MiB per image)")


if __name__ == "__main__":
    app.run(main)
