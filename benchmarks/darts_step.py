"""Search-step time: GDAS vs DARTS first and second order vs an ENAS supernet step, one run.

Each variant is a real ``Search`` on synthetic CIFAR-shaped data and is timed through
the loop's own call, ``search.method.shared_step(images, labels)``:

* DARTS first order: an Adam step of the architecture weights on a validation batch,
  then an SGD step of the weights, both through the mixed-op supernet (every op runs);
* DARTS second order (``--unrolled``): the same, with the virtual step and the
  finite-difference Hessian-vector product in the architecture step;
* GDAS: an SGD step of the weights and an Adam step of the architecture weights, each
  on its own hard Gumbel sample through the same supernet (only the sampled op of each
  edge runs);
* ENAS: one sampled architecture through the ENAS micro supernet (only its ops run).

Peak host memory is printed after each variant (the process's, so cumulative: the
variants run from the lightest to the heaviest). All at
the same size: DARTS's search network (8 cells, C=16, batch 64); the ENAS micro
supernet with 8 cells (``num_layers=6``), 4 nodes per cell (as DARTS), C=16, batch 64,
no auxiliary head. The ENAS controller phase (30 REINFORCE updates per epoch) is not in
its step and is timed apart, per update.

    python benchmarks/darts_step.py [--steps=5 --batch_size=64 --filters=16 --cells=8]
                                    [--variants=gdas,enas,darts1,darts2]
"""

from __future__ import annotations

import dataclasses
import gc
import resource
import tempfile

from common import FLAGS, synthetic_cifar, time_calls  # sys.path too

import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402

from enas_tf.config import SearchConfig  # noqa: E402
from enas_tf.models.summary import trainable_parameters  # noqa: E402
from enas_tf.loops.search import Search  # noqa: E402
from enas_tf.training.platform import describe_platform  # noqa: E402

flags.DEFINE_integer("cells", 8, "Cells in all (DARTS search: 8).")
flags.DEFINE_list("variants", ["gdas", "enas", "darts1", "darts2"],
                  "Which to time: gdas, enas, darts1 (first order), darts2 (second order).")
NAMES = {"gdas": "GDAS (sampled op per edge)", "enas": "ENAS micro (sampled path)",
         "darts1": "DARTS first order", "darts2": "DARTS second order"}
# --steps (timed steps after the first call), --batch_size (default here: DARTS's 64) and
# --filters (default here: DARTS's 16) are the shared benchmark flags of common.py.


def batch_size() -> int:
    return FLAGS.batch_size or 64


def variants() -> dict[str, SearchConfig]:
    size = dict(batch_size=batch_size(), filters=FLAGS.filters or 16)
    common = dict(verbose=0, seed=0)
    darts = SearchConfig.for_space("darts", num_layers=FLAGS.cells, **size, **common)
    enas = SearchConfig.for_space("micro", num_layers=FLAGS.cells - 2, num_nodes=4,
                                  aux_weight=0.0, **size, **common)
    every = {"gdas": dataclasses.replace(darts, strategy="gdas"), "enas": enas,
             "darts1": darts, "darts2": dataclasses.replace(darts, unrolled=True)}
    unknown = sorted(set(FLAGS.variants) - set(every))
    if unknown:
        raise app.UsageError(f"unknown --variants {', '.join(unknown)}; known: "
                             f"{', '.join(every)}")
    return {NAMES[key]: every[key] for key in every if key in FLAGS.variants}


def measure(cfg: SearchConfig) -> dict[str, float]:
    cfg = dataclasses.replace(cfg, output_dir=tempfile.mkdtemp(prefix="enas_bench_"),
                              num_valid=cfg.batch_size)
    search = Search(cfg, synthetic_cifar(cfg.batch_size))
    search.method.start_epoch(0)
    dataset = search.data.dataset("train", cfg.batch_size, shuffle_seed=0, augment=True,
                                  repeat=True, drop_remainder=True)
    batches = iter(search.distribution.experimental_distribute_dataset(dataset))
    first, median = time_calls(lambda: search.method.shared_step(*next(batches)), FLAGS.steps)
    facts = {"params": trainable_parameters(search.supernet), "first": first, "median": median}
    if cfg.strategy == "enas":
        steps = search.method.steps
        valid = iter(search.distribution.experimental_distribute_dataset(
            search.data.dataset("valid", cfg.batch_size, shuffle_seed=1, repeat=True,
                                drop_remainder=True)))
        _, facts["controller_update"] = time_calls(
            lambda: steps.controller_update(valid, cfg.controller_num_aggregate), FLAGS.steps)
    return facts


def peak_rss_gib() -> float:
    """This process's peak resident memory so far (host memory; CPU-only runs)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def main(argv):
    del argv
    print(f"machine: {describe_platform()}", flush=True)
    if FLAGS.steps < 1:
        raise app.UsageError("--steps must be at least 1")
    gpus = tf.config.list_physical_devices("GPU")
    print(f"batch {batch_size()}, C={FLAGS.filters or 16}, {FLAGS.cells} cells, 32x32x3, "
          f"{FLAGS.steps} timed steps, TF {tf.__version__}, "
          f"{f'{len(gpus)} GPU(s), the first used' if gpus else 'no GPU: CPU only'}")
    results = {}
    print(f"{'variant':27s} | supernet params | first call (trace) | median step | peak RSS")
    for name, cfg in variants().items():
        gc.collect()
        results[name] = facts = measure(cfg)
        print(f"{name:27s} | {facts['params']:15,} | {facts['first']:17.1f}s | "
              f"{facts['median']:10.3f}s | {peak_rss_gib():.1f} GiB so far", flush=True)
    median = {key: results[NAMES[key]]["median"] for key in FLAGS.variants}
    if "enas" in median:
        aggregate = variants()[NAMES["enas"]].controller_num_aggregate
        print(f"ENAS controller update ({aggregate} architectures on validation batches): "
              f"{results[NAMES['enas']]['controller_update']:.3f}s median")
    ratios = [(a, b) for a, b in (("darts2", "darts1"), ("darts1", "gdas"), ("darts1", "enas"),
                                  ("darts2", "enas"), ("gdas", "enas"))
              if a in median and b in median]
    print("; ".join(f"{NAMES[a]} / {NAMES[b]}: {median[a] / median[b]:.2f}x" for a, b in ratios))


if __name__ == "__main__":
    app.run(main)
