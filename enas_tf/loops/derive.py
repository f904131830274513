"""Judging the derived architecture, and the facts that say whether a search searched.

The strategy derives its architecture (ENAS: the best of several sampled ones on one
validation minibatch; DARTS: the genotype of its architecture weights); here it is
measured on the whole validation split with the shared weights, next to the strategy's
most likely architecture and uniformly random architectures measured the same way: a
derived architecture that does not beat random ones means the search found nothing.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from absl import logging

from enas_tf.data.metrics import ACCURACY, Metric
from enas_tf.training.progress import Progress
from enas_tf.training.steps import batches_accuracy, split_batches


def judge_architecture(context, method, arc, seed: int) -> dict[str, Any]:
    """``arc`` scored on the whole validation split with the shared weights of a search
    (its ``StrategyContext``), next to the strategy ``method``'s most likely architecture
    and ``derive_random_samples`` uniformly random ones scored the same way, all by the
    data's metric (``valid_accuracy``, or ``valid_perplexity`` for text)."""
    cfg, space, metric = context.config, context.search_space, context.metric
    batches = split_batches(context.distribution, context.data, "valid", cfg.batch_size)
    progress = Progress(cfg.derive_random_samples + 2, cfg.verbose, "judging",
                        unit="architecture")

    def on_valid(candidate) -> float:
        arch = method.arch_input(space.validate(candidate))
        return batches_accuracy(
            lambda images, labels: context.count_correct(images, labels, arch), batches, metric)

    arc = space.validate(arc)
    valid_value = on_valid(arc)
    likely = method.most_likely()
    likely_value = valid_value if likely == arc else on_valid(likely)
    progress.update(2)
    rng = np.random.default_rng(seed)
    random_values, random_arcs = [], []
    for i in range(cfg.derive_random_samples):
        random_arcs.append(space.random_architecture(rng))
        random_values.append(on_valid(random_arcs[-1]))
        progress.update(3 + i)
    name = metric.name
    logging.info("Derived architecture: %.4f validation %s with the shared weights; "
                 "%d random ones: %.4f on average.", valid_value, name, len(random_values),
                 float(np.mean(random_values)))
    return {"arc": list(arc), "architecture": space.to_json(arc),
            f"valid_{name}": valid_value,
            "most_likely": {"arc": list(likely), f"valid_{name}": likely_value},
            "random_architectures": {
                "num": len(random_values),
                f"valid_{name}_mean": float(np.mean(random_values)),
                f"valid_{name}_std": float(np.std(random_values)),
                f"valid_{metric.plural}": random_values,
                "arcs": [list(a) for a in random_arcs]}}


def benchmark_report(lookup, dataset: str, space, result: dict[str, Any]) -> dict[str, Any]:
    """What the benchmark ``lookup`` (``enas_tf.lookup``) says of the derived
    architecture and of the random ones it was judged against; an ``error`` entry instead
    if it cannot say (the search's result is kept either way)."""
    from enas_tf.lookup import BenchmarkLookupError

    random_arcs = result.get("random_architectures", {}).get("arcs", [])
    try:
        return lookup.report(space.notation(result["arc"]),
                             [space.notation(a) for a in random_arcs], dataset)
    except BenchmarkLookupError as error:
        logging.warning("benchmark look-up failed: %s", error)
        return {"source": lookup.description, "dataset": dataset, "error": str(error)}


# Per-epoch statistics that are bookkeeping rather than facts about the search.
NOT_FACTS = ("accuracy", "entropy", "reward", "log_prob", "baseline")


def search_facts(history: list[dict], result: dict[str, Any], prefix: str = "controller",
                 stat_names: tuple[str, ...] = (),
                 accuracy_label: str = "sampled architectures' validation accuracy "
                                       "(shared weights)",
                 caveat: str | None = None, metric: Metric = ACCURACY) -> dict[str, Any]:
    """Did the search search? The strategy's entropy, the validation accuracy (or
    reward) it saw (``accuracy_label`` says what it is) and its own statistics (e.g. the
    macro skip rate) at the first and last epoch, and the derived architecture against
    the mean of random ones by ``metric`` (with the strategy's ``caveat`` about that
    comparison, if any). ``prefix``: the strategy's ``stats_prefix``."""
    facts: dict[str, Any] = {}
    if history:
        first, last = history[0], history[-1]
        pairs = [(f"{prefix}_entropy", f"{prefix}_entropy"),
                 ("sampled_valid_accuracy", f"{prefix}_accuracy")]
        pairs += [(f"{prefix}_{name}",) * 2 for name in stat_names if name not in NOT_FACTS]
        for name, key in pairs:
            if key in first and key in last:
                facts[name] = {"first_epoch": first[key], "last_epoch": last[key]}
        if "sampled_valid_accuracy" in facts:
            facts["sampled_valid_accuracy"]["label"] = accuracy_label
    random = result.get("random_architectures")
    if random:
        name = metric.name
        derived, mean = result[f"valid_{name}"], random[f"valid_{name}_mean"]
        facts["derived_vs_random"] = {
            "metric": name, "higher_is_better": metric.higher_is_better,
            f"derived_valid_{name}": derived,
            f"random_valid_{name}_mean": mean,
            f"random_valid_{name}_std": random[f"valid_{name}_std"],
            "num_random": random["num"],
            "derived_beats_random_mean": metric.better(derived, mean)}
        if caveat:
            facts["derived_vs_random"]["caveat"] = caveat
    return facts


def describe_search_facts(facts: dict[str, Any]) -> list[str]:
    """The facts as lines for people."""
    lines = []
    entropy = next((name for name in facts if name.endswith("_entropy")), None)
    if entropy:
        e, a = facts[entropy], facts["sampled_valid_accuracy"]
        lines.append(f"{entropy.replace('_', ' ')}: {e['first_epoch']:.2f} after the first "
                     f"epoch, {e['last_epoch']:.2f} after the last")
        lines.append(f"{a.get('label', 'validation accuracy')}: {a['first_epoch']:.3f} after "
                     f"the first epoch, {a['last_epoch']:.3f} after the last")
    for name, values in facts.items():
        if name not in (entropy, "sampled_valid_accuracy", "derived_vs_random"):
            lines.append(f"{name.replace('_', ' ')}: {values['first_epoch']:.3f} after the "
                         f"first epoch, {values['last_epoch']:.3f} after the last")
    if "derived_vs_random" in facts:
        d = facts["derived_vs_random"]
        name = d.get("metric", "accuracy")
        side = "above" if d.get("higher_is_better", True) else "below"
        verdict = side if d["derived_beats_random_mean"] else f"NOT {side}"
        lines.append(f"derived architecture: {d[f'derived_valid_{name}']:.3f} validation "
                     f"{name}, {verdict} the mean of {d['num_random']} uniformly random "
                     f"architectures on the same weights ({d[f'random_valid_{name}_mean']:.3f}"
                     f" +- {d[f'random_valid_{name}_std']:.3f})")
        if d.get("caveat"):
            lines.append(f"  note: {d['caveat']}")
    return lines


def describe_benchmark(report: dict[str, Any]) -> str:
    """One line: the derived architecture's benchmark test accuracy against random ones'."""
    if "error" in report:
        return f"benchmark look-up ({report['source']}) failed: {report['error']}"
    line = (f"benchmark ({report['source']}, {report['dataset']}): derived architecture "
            f"{report['test_accuracy']:.2f}% test accuracy")
    if report.get("random_test_accuracy_mean") is not None:
        line += (f", the {report['num_random']} random ones "
                 f"{report['random_test_accuracy_mean']:.2f}% on average")
    return line
