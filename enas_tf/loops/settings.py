"""The loops' own settings: what a search derives and looks up, what a final training
trains and writes, what a drawing draws.

Example:

```python
SearchSettings(derive_num_samples=50).validate()
```
"""

from __future__ import annotations

import dataclasses
import os

from enas_tf.options import Settings, need, option


@dataclasses.dataclass
class SearchSettings(Settings):
    """Deriving the result of a search and judging it."""

    benchmark_file: str | None = option(
        None, "Search (nb201): a NAS-Bench-201 results file to look the derived cell up in: "
        "the official NAS-Bench-201 .pth / NATS-Bench tss file (needs nas_201_api or "
        "nats_bench installed) or a JSON/CSV table (enas_tf.lookup).", resumable=True)
    benchmark_dataset: str | None = option(
        None, "Search: the benchmark data set whose accuracies are looked up (cifar10, "
        "cifar10-valid, cifar100, ImageNet16-120); default: the one searched (nb201:cifar100 "
        "-> cifar100, ...; CIFAR-10 and other data -> cifar10).", resumable=True)
    derive_num_samples: int = option(
        100, "Architectures sampled and scored when deriving the result.", minimum=1,
        resumable=True)
    derive_random_samples: int = option(
        10, "Uniformly random architectures scored on the same shared weights when "
        "deriving, to compare the result against.", minimum=1, resumable=True)

    MODES = ("search",)

    def check(self) -> None:
        need(self.num_valid >= 1, f"num_valid must be >= 1, got {self.num_valid}.")
        need(not self.benchmark_file or os.path.exists(self.benchmark_file),
             f"benchmark_file {self.benchmark_file} does not exist.")


@dataclasses.dataclass
class ArchitectureSettings(Settings):
    """Which architecture a final training trains or a drawing draws."""

    arc: str | None = option(
        None, "Final/draw: the architecture as an integer string; for darts also DARTS's "
        "Genotype(...) notation or a published name (DARTS_V1, DARTS_V2, GDAS_V1). Default: "
        "the space's published architecture (ENAS's; DARTS_V2; for a macro network of fewer "
        "than 24 layers, its first num_layers layers).")
    arc_file: str | None = option(
        None, "Final/draw: a file holding the architecture: the derived_arc.json a search "
        "writes, its readable JSON, or the integer string.")

    MODES = ("final", "draw")

    def check(self) -> None:
        need(not (self.arc and self.arc_file), "give --arc or --arc_file, not both.")


@dataclasses.dataclass
class FinalSettings(Settings):
    """Evaluating and exporting a final training."""

    eval_every: int = option(1, "Final: evaluate on the test split every this many epochs.",
                             minimum=1, resumable=True)
    asgd_patience: int = option(
        10, "Final recurrent: averaged SGD starts once the validation perplexity is worse "
        "than the best of the epochs before the last N (enas_lm: 10).", minimum=1)
    export_savedmodel: bool = option(
        False, "Final: also write the trained model as a TensorFlow SavedModel "
        "(output_dir/savedmodel) that serves without enas-tf: raw uint8 images in, "
        "probabilities out (language models: token ids in).", resumable=True)

    MODES = ("final",)


@dataclasses.dataclass
class DrawSettings(Settings):
    """Where a drawing goes."""

    output_file: str | None = option(
        None, "Draw: the PNG to write (default: the architecture file's name with .png, else "
        "architecture.png).")

    MODES = ("draw",)
