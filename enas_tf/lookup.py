"""Benchmark look-up: what a tabular benchmark says about an architecture, without training.

A ``BenchmarkLookup`` maps a space's architecture string (NAS-Bench-201's
``|op~0|+|...|``) to the accuracies the benchmark measured for it. Two sources:

* ``TableLookup``: a JSON or CSV table (e.g. numbers copied from a paper, or a subset
  exported once from the official file);
* ``NasBench201ApiLookup``: the official files through their own packages when the
  user has them: ``NAS-Bench-201-v1_*.pth`` with ``nas_201_api`` (``pip install
  nas-bench-201``, needs torch) or NATS-Bench's topology file / directory with
  ``nats_bench`` (pure Python). Neither package nor file is a dependency of enas-tf.

Accuracies are percentages, as the benchmark reports them.

Example:

```python
lookup = open_lookup("NAS-Bench-201-v1_1-096897.pth")
lookup.query(RESNET_CELL, "cifar10")   # {"test_accuracy": 93.97, ...}
```
"""

from __future__ import annotations

import abc
import csv
import json
import os
from typing import Any, Iterable, Mapping

import numpy as np

DATASETS = ("cifar10", "cifar10-valid", "cifar100", "ImageNet16-120")
# The benchmark API's metric names -> ours.
API_METRICS = {"test-accuracy": "test_accuracy", "valid-accuracy": "valid_accuracy",
               "train-accuracy": "train_accuracy"}


class BenchmarkLookupError(ValueError):
    """An architecture or data set the table does not hold, or a file it cannot read."""


class BenchmarkLookup(abc.ABC):
    """Scores architecture strings from a benchmark's results."""

    description: str = ""

    @abc.abstractmethod
    def query(self, arch_str: str, dataset: str = "cifar10") -> dict[str, float]:
        """The benchmark's metrics of ``arch_str`` on ``dataset`` (``test_accuracy`` at
        least); ``BenchmarkLookupError`` if it does not hold them."""

    def report(self, derived: str, others: Iterable[str], dataset: str) -> dict[str, Any]:
        """The derived architecture's metrics next to the mean test accuracy of
        ``others`` (e.g. the random architectures the search was judged against)."""
        others = list(others)
        accuracies = [self.query(arch, dataset)["test_accuracy"] for arch in others]
        return {"source": self.description, "dataset": dataset, "arch_str": derived,
                **self.query(derived, dataset),
                "num_random": len(accuracies),
                "random_test_accuracy_mean": float(np.mean(accuracies)) if accuracies else None}


class TableLookup(BenchmarkLookup):
    """A results table in memory: ``{dataset: {arch_str: {metric: value}}}``.

    ``from_file`` reads it from JSON (that nesting) or CSV (columns ``arch_str``,
    ``dataset`` and one per metric, e.g. ``test_accuracy``).
    """

    def __init__(self, table: Mapping[str, Mapping[str, Mapping[str, float]]],
                 description: str = "table"):
        self.table, self.description = table, description

    @classmethod
    def from_file(cls, path: str) -> "TableLookup":
        try:
            if path.endswith(".csv"):
                table: dict[str, dict[str, dict[str, float]]] = {}
                with open(path, newline="") as f:
                    for row in csv.DictReader(f):
                        arch, dataset = row.pop("arch_str"), row.pop("dataset")
                        table.setdefault(dataset, {})[arch] = {k: float(v) for k, v in row.items()}
            else:
                with open(path) as f:
                    table = json.load(f)
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise BenchmarkLookupError(f"cannot read the benchmark table {path}: {error}") from None
        if not isinstance(table, dict):
            raise BenchmarkLookupError(
                f"benchmark table {path} must map data sets to architectures.")
        return cls(table, f"table {os.path.basename(path)}")

    def query(self, arch_str: str, dataset: str = "cifar10") -> dict[str, float]:
        if dataset not in self.table:
            raise BenchmarkLookupError(
                f"the {self.description} has no data set {dataset!r}; it has: "
                f"{', '.join(self.table)}.")
        if arch_str not in self.table[dataset]:
            raise BenchmarkLookupError(f"the {self.description} has no entry for {arch_str} on "
                               f"{dataset}.")
        metrics = dict(self.table[dataset][arch_str])
        if "test_accuracy" not in metrics:
            raise BenchmarkLookupError(f"the {self.description} entry for {arch_str} has no "
                               "test_accuracy.")
        return metrics


class NasBench201ApiLookup(BenchmarkLookup):
    """The official NAS-Bench-201 / NATS-Bench (topology) results through their API.

    Args:
      api: an object with ``query_index_by_arch(arch_str)`` and
        ``get_more_info(index, dataset, hp=..., is_random=False)`` (``NASBench201API``,
        ``nats_bench.create(path, "tss")``).
      hp: the training schedule of the results ("200": the full 200 epochs).
    """

    def __init__(self, api, hp: str = "200", description: str = "NAS-Bench-201 API"):
        self.api, self.hp, self.description = api, hp, description

    @classmethod
    def from_file(cls, path: str, hp: str = "200") -> "NasBench201ApiLookup":
        if path.endswith(".pth"):
            module, hint = "nas_201_api", "pip install nas-bench-201 (needs torch)"
        else:
            module, hint = "nats_bench", "pip install nats_bench"
        try:
            package = __import__(module)
        except ImportError:
            raise BenchmarkLookupError(
                f"reading {path} needs the {module} package: {hint}.") from None
        api = (package.NASBench201API(path, verbose=False) if module == "nas_201_api"
               else package.create(path, "tss", fast_mode=True, verbose=False))
        return cls(api, hp, f"{module} ({os.path.basename(path)})")

    def query(self, arch_str: str, dataset: str = "cifar10") -> dict[str, float]:
        if dataset not in DATASETS:
            raise BenchmarkLookupError(f"unknown benchmark data set {dataset!r}; known: "
                               f"{', '.join(DATASETS)}.")
        index = self.api.query_index_by_arch(arch_str)
        if index is None or index < 0:
            raise BenchmarkLookupError(f"the benchmark has no architecture {arch_str}.")
        info = self.api.get_more_info(index, dataset, hp=self.hp, is_random=False)
        metrics = {ours: float(info[theirs]) for theirs, ours in API_METRICS.items()
                   if theirs in info}
        if "test_accuracy" not in metrics:
            raise BenchmarkLookupError(f"the benchmark reports no test accuracy of {arch_str} on "
                               f"{dataset}.")
        return metrics | {"index": int(index)}


def open_lookup(path: str) -> BenchmarkLookup:
    """The look-up for a results file: ``.json`` / ``.csv`` tables, else the official
    files (``.pth``: nas_201_api; other files or directories: nats_bench)."""
    if not os.path.exists(path):
        raise BenchmarkLookupError(f"benchmark file {path} does not exist.")
    if path.endswith((".json", ".csv")):
        return TableLookup.from_file(path)
    return NasBench201ApiLookup.from_file(path)
