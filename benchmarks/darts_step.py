"""DARTS's search step against its limit, and GDAS, ENAS: step time, first call, memory.

Each search variant is a real ``Search`` on synthetic CIFAR-shaped data, timed through
the loop's own call, ``search.method.shared_step(images, labels)``:

* ``darts1``: DARTS first order: an Adam step of the architecture weights on a
  validation batch, then an SGD step of the weights, both through the mixed-op supernet
  (every op runs); ``darts2`` second order (``--unrolled``): the same, with the virtual
  step and the finite-difference Hessian-vector product in the architecture step;
  ``darts1_recompute``, ``darts2_recompute``: with ``--recompute_edges`` (each edge's ops
  run again in the backward pass instead of being kept);
* ``ref1``, ``ref2``: **the limit**, the same network as plain layers whose edges sum
  every op with constant weights, making the same passes as a first- or second-order
  step (``darts_reference.py``); the DARTS rows print their ratios to it;
* ``gdas``: an SGD step of the weights and an Adam step of the architecture weights, each
  on its own hard Gumbel sample through the same supernet (only the sampled op of each
  edge runs);
* ``enas``: one sampled architecture through the ENAS micro supernet (only its ops run);
  the controller phase (30 REINFORCE updates per epoch) is timed apart, per update.

Every variant runs in a process of its own (``--isolate``, the default), so its peak
memory (the process's peak resident set: host memory, CPU runs) is its own and the
first call includes all of its tracing. All at DARTS's search size: 8 cells, C=16,
batch 64, 32x32; the ENAS micro supernet with 8 cells (``num_layers=6``), 4 nodes per
cell (as DARTS), no auxiliary head.

    python benchmarks/darts_step.py [--steps=5 --batch_size=64 --filters=16 --cells=8]
        [--variants=ref1,darts1,darts1_recompute,ref2,darts2,darts2_recompute,gdas,enas]
"""

from __future__ import annotations

import dataclasses
import json
import resource
import subprocess
import sys
import tempfile

from common import FLAGS, synthetic_cifar, time_calls  # sys.path too

import tensorflow as tf  # noqa: E402
from absl import app, flags  # noqa: E402

from darts_reference import reference_network, reference_step  # noqa: E402
from enas_tf.components import get_components  # noqa: E402
from enas_tf.config import SearchConfig  # noqa: E402
from enas_tf.models.summary import trainable_parameters  # noqa: E402
from enas_tf.loops.search import Search  # noqa: E402
from enas_tf.training.platform import describe_platform  # noqa: E402

flags.DEFINE_integer("cells", 8, "Cells in all (DARTS search: 8).")
NAMES = {"ref1": "reference, 1st-order passes", "darts1": "DARTS first order",
         "darts1_recompute": "DARTS 1st, recompute_edges",
         "ref2": "reference, 2nd-order passes", "darts2": "DARTS second order",
         "darts2_recompute": "DARTS 2nd, recompute_edges",
         "gdas": "GDAS (sampled op per edge)", "enas": "ENAS micro (sampled path)"}
REFERENCE = {"darts1": "ref1", "darts1_recompute": "ref1", "darts2": "ref2",
             "darts2_recompute": "ref2"}
flags.DEFINE_list("variants", list(NAMES), f"Which to time: {', '.join(NAMES)}.")
flags.DEFINE_bool("isolate", True, "Run every variant in a process of its own (its own "
                  "peak memory and tracing).")
# --steps (timed steps after the first call), --batch_size (default here: DARTS's 64) and
# --filters (default here: DARTS's 16) are the shared benchmark flags of common.py.


def batch_size() -> int:
    return FLAGS.batch_size or 64


def configs() -> dict[str, SearchConfig]:
    """Every variant's search settings (the references use DARTS's)."""
    size = dict(batch_size=batch_size(), filters=FLAGS.filters or 16)
    common = dict(verbose=0, seed=0)
    darts = SearchConfig.for_space("darts", num_layers=FLAGS.cells, **size, **common)
    enas = SearchConfig.for_space("micro", num_layers=FLAGS.cells - 2, num_nodes=4,
                                  aux_weight=0.0, **size, **common)
    unrolled = dataclasses.replace(darts, unrolled=True)
    return {"ref1": darts, "darts1": darts,
            "darts1_recompute": dataclasses.replace(darts, recompute_edges=True),
            "ref2": unrolled, "darts2": unrolled,
            "darts2_recompute": dataclasses.replace(unrolled, recompute_edges=True),
            "gdas": dataclasses.replace(darts, strategy="gdas"), "enas": enas}


def measure_search(cfg: SearchConfig) -> dict[str, float]:
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


def measure_reference(cfg: SearchConfig) -> dict[str, float]:
    """The plain-layer network making the passes of a DARTS step of ``cfg``'s order."""
    components = get_components(cfg.search_space)
    network = reference_network(components.make_supernet(
        components.make_space(cfg), cfg, 10), (32, 32, 3))
    step = reference_step(network, 2 if cfg.unrolled else 1, cfg.weight_decay,
                          cfg.grad_bound)
    data = synthetic_cifar(cfg.batch_size)
    batches = {split: iter(data.dataset(split, cfg.batch_size, shuffle_seed=seed,
                                        augment=True, repeat=True, drop_remainder=True))
               for split, seed in (("train", 0), ("valid", 1))}
    first, median = time_calls(
        lambda: step(*next(batches["train"]), *next(batches["valid"])), FLAGS.steps)
    return {"params": trainable_parameters(network), "first": first, "median": median}


def peak_rss_gib() -> float:
    """This process's peak resident memory so far (host memory; CPU-only runs)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def measure(key: str) -> dict[str, float]:
    """One variant's figures, measured in this process."""
    cfg = configs()[key]
    facts = (measure_reference if key.startswith("ref") else measure_search)(cfg)
    return {**facts, "peak_gib": peak_rss_gib()}


def measure_apart(key: str) -> dict[str, float]:
    """One variant's figures, measured in a child process of its own."""
    argv = [sys.executable, sys.argv[0], f"--variants={key}", "--noisolate",
            f"--steps={FLAGS.steps}", f"--cells={FLAGS.cells}", f"--batch_size={batch_size()}",
            f"--filters={FLAGS.filters or 16}"]
    run = subprocess.run(argv, capture_output=True, text=True)
    lines = [line for line in run.stdout.splitlines() if line.startswith("RESULT ")]
    if run.returncode or not lines:
        raise SystemExit(f"{key} failed (exit {run.returncode}):\n{run.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def ratios(key: str, results: dict) -> str:
    reference = results.get(REFERENCE.get(key))
    if reference is None:
        return ""
    facts = results[key]
    return " | ".join(f"{facts[name] / reference[name]:.2f}x"
                      for name in ("median", "first", "peak_gib"))


def main(argv):
    del argv
    unknown = sorted(set(FLAGS.variants) - set(NAMES))
    if unknown:
        raise app.UsageError(f"unknown --variants {', '.join(unknown)}; known: "
                             f"{', '.join(NAMES)}")
    if FLAGS.steps < 1:
        raise app.UsageError("--steps must be at least 1")
    if not FLAGS.isolate:  # a child: one variant, its figures as one line
        for key in FLAGS.variants:
            print("RESULT " + json.dumps(measure(key)), flush=True)
        return
    print(f"machine: {describe_platform()}", flush=True)
    gpus = tf.config.list_physical_devices("GPU")
    print(f"batch {batch_size()}, C={FLAGS.filters or 16}, {FLAGS.cells} cells, 32x32x3, "
          f"{FLAGS.steps} timed steps, TF {tf.__version__}, "
          f"{f'{len(gpus)} GPU(s), the first used' if gpus else 'no GPU: CPU only'}; "
          "each variant in its own process")
    print(f"{'variant':28s} | params    | first call | median step | peak RSS  | "
          "vs reference: step | first call | peak RSS")
    results = {}
    for key in FLAGS.variants:
        results[key] = facts = measure_apart(key)
        print(f"{NAMES[key]:28s} | {facts['params']:9,} | {facts['first']:9.1f}s | "
              f"{facts['median']:10.3f}s | {facts['peak_gib']:5.2f} GiB | {ratios(key, results)}",
              flush=True)
    if "enas" in results:
        aggregate = configs()["enas"].controller_num_aggregate
        print(f"ENAS controller update ({aggregate} architectures on validation batches): "
              f"{results['enas']['controller_update']:.3f}s median")
    median = {key: facts["median"] for key, facts in results.items()}
    pairs = [(a, b) for a, b in (("darts2", "darts1"), ("darts1", "gdas"), ("darts1", "enas"),
                                 ("gdas", "enas"))
             if a in median and b in median]
    if pairs:
        print("; ".join(f"{NAMES[a]} / {NAMES[b]}: {median[a] / median[b]:.2f}x"
                        for a, b in pairs))


if __name__ == "__main__":
    app.run(main)
