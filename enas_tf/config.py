"""Config objects for the runs enas-tf performs; defaults are the official CIFAR-10 settings.

``SearchConfig`` describes an ENAS micro search, ``FinalConfig`` the from-scratch
training of one architecture. ``main.py`` fills them from absl flags; notebooks build
them directly. Library code only ever sees these objects, never flags.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from typing import Any, ClassVar

from enas_tf.components import SPACE_NAMES, get_components
from enas_tf.strategies import STRATEGY_NAMES

CLIP_MODES = ("per_variable", "global")

DATASETS = ("cifar10", "digits", "ptb", "python_docs")
# Supernet weight layouts (``enas_tf.supernet.micro``): the official one, or one weight
# set per op shared by every source node and one cell-output kernel for every node.
WEIGHT_SHARING = ("official", "compact")


def _need(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


class ConfigFields:
    """What ``main.py`` needs of every config class: its field names, and the official
    defaults of each search space."""

    KIND: ClassVar[str] = ""  # "search", "final" or "draw": which defaults of a space apply

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def space_defaults(cls, search_space: str, strategy: str | None = None) -> dict[str, Any]:
        """The official settings of ``search_space`` (searched by ``strategy``, if it has
        its own, e.g. GDAS on the DARTS space) that differ from this class's own defaults
        (which are the micro space's)."""
        defaults = get_components(search_space).defaults
        values = dict(defaults.get(cls.KIND, {}))
        if strategy is None or cls.KIND != "search":
            return values
        return {**values, **defaults.get(f"search/{strategy}", {}), "strategy": strategy}

    @classmethod
    def for_space(cls, search_space: str, /, **values):
        """A config for ``search_space`` with its official defaults (those of the
        ``strategy`` value if given), then ``values``.

        ``SearchConfig.for_space("macro", dataset="digits")`` is the official macro search
        on digits; ``SearchConfig(search_space="macro")`` would keep micro's sizes.
        """
        values = {**cls.space_defaults(search_space, values.get("strategy")), **values,
                  "search_space": search_space}
        return cls(**values)


@dataclasses.dataclass
class RunConfig(ConfigFields):
    """Settings every run has: data, network skeleton, SGD with cosine restarts, output."""

    # What is searched or trained: "micro" (cells) or "macro" (whole network).
    search_space: str = "micro"
    # Data.
    dataset: str = "cifar10"
    data_dir: str | None = None
    download: bool = True
    # Network.
    num_layers: int = 6
    num_nodes: int = 5
    filters: int = 20
    num_branches: int = 6  # Macro: the first num_branches ops are allowed.
    keep_prob: float = 0.9
    aux_weight: float = 0.4
    # Recurrent space (language models; rates are drop rates, as enas_lm's).
    hidden_size: int = 200
    bptt: int = 35
    random_bptt: bool = True
    drop_word: float = 0.1
    drop_embedding: float = 0.2
    drop_cell_input: float = 0.75
    drop_hidden: float = 0.25
    drop_output: float = 0.75
    activation_reg: float = 0.0
    slowness_reg: float = 1.0
    init_range: float = 0.04
    # SGD.
    batch_size: int = 160
    num_epochs: int = 150
    steps_per_epoch: int | None = None  # None: one pass over the training split.
    l2_reg: float = 1e-4
    lr_max: float = 0.05
    lr_min: float = 0.0005
    lr_t0: int = 10
    lr_t_mul: int = 2
    momentum: float = 0.9
    nesterov: bool = True  # Official ENAS: Nesterov; DARTS: plain momentum.
    grad_bound: float = 5.0  # Norm clip; the official ENAS code meant this but dropped it.
    grad_clip: str = "per_variable"  # "per_variable" (official ENAS) or "global" (DARTS).
    weight_decay: float = 0.0  # Coupled, PyTorch-style (DARTS); ENAS uses l2_reg instead.
    # Devices.
    num_devices: int = 1
    devices: str | None = None  # Comma-separated device names; overrides num_devices.
    multi_worker: bool = False  # MultiWorkerMirroredStrategy over the TF_CONFIG cluster.
    jit_compile: bool = False
    # Input pipeline (-1: tf.data.AUTOTUNE).
    data_parallel_calls: int = -1
    data_prefetch: int = -1
    data_threads: int = 0  # Private tf.data thread pool size; 0: TensorFlow's shared pool.
    # Run.
    output_dir: str = "runs/enas_micro"
    seed: int = 0
    log_every: int = 50
    max_checkpoints: int = 3
    verbose: int = 1  # 1: progress bars and a line per epoch; 0: log lines only.
    restart: bool = False  # Remove an earlier run's files in output_dir and start over.
    deterministic: bool = False  # TF op determinism: reruns and resumed runs match exactly.

    # Fields that may differ when resuming a run (nothing else may).
    RESUMABLE_CHANGES: ClassVar[tuple[str, ...]] = (
        "num_epochs", "output_dir", "log_every", "max_checkpoints", "data_dir", "download",
        "num_devices", "devices", "multi_worker", "jit_compile", "data_parallel_calls",
        "data_prefetch", "data_threads", "verbose", "restart")
    # Fields that must be integers >= 1.
    POSITIVE_INTS: ClassVar[tuple[str, ...]] = (
        "num_layers", "num_nodes", "batch_size", "num_epochs", "lr_t0", "lr_t_mul",
        "log_every", "max_checkpoints", "num_devices", "hidden_size", "bptt")
    # Fields that must be >= 0.
    NON_NEGATIVE: ClassVar[tuple[str, ...]] = ("seed", "aux_weight", "l2_reg", "grad_bound",
                                               "momentum", "data_threads", "weight_decay",
                                               "activation_reg", "slowness_reg", "init_range")
    DROP_RATES: ClassVar[tuple[str, ...]] = ("drop_word", "drop_embedding", "drop_cell_input",
                                             "drop_hidden", "drop_output")
    # Fields whose value must be one of a fixed set.
    CHOICES: ClassVar[dict[str, tuple]] = {"search_space": SPACE_NAMES, "dataset": DATASETS,
                                           "verbose": (0, 1), "grad_clip": CLIP_MODES}

    def validate(self):
        """Raises ``ValueError`` naming the first bad setting; returns self."""
        for name, allowed in self.CHOICES.items():
            _need(getattr(self, name) in allowed,
                  f"{name} must be one of {', '.join(map(str, allowed))}, "
                  f"got {getattr(self, name)!r}.")
        components = get_components(self.search_space)
        _need(self.dataset in components.datasets,
              f"the {self.search_space} space runs on {', '.join(components.datasets)}, not "
              f"{self.dataset}.")
        components.check_config(self)
        for name in self.DROP_RATES:
            _need(0.0 <= getattr(self, name) < 1.0,
                  f"{name} must be in [0, 1), got {getattr(self, name)}.")
        for name in self.POSITIVE_INTS:
            _need(int(getattr(self, name)) >= 1,
                  f"{name} must be >= 1, got {getattr(self, name)}.")
        for name in self.NON_NEGATIVE:
            _need(getattr(self, name) >= 0.0, f"{name} must be >= 0, got {getattr(self, name)}.")
        _need(self.filters >= 2 and self.filters % 2 == 0,
              f"filters must be an even number >= 2 (factorized reductions split channels in "
              f"two), got {self.filters}.")
        _need(0.0 < self.keep_prob <= 1.0, f"keep_prob must be in (0, 1], got {self.keep_prob}.")
        _need(self.steps_per_epoch is None or self.steps_per_epoch >= 1,
              f"steps_per_epoch must be >= 1 or unset, got {self.steps_per_epoch}.")
        _need(0.0 <= self.lr_min <= self.lr_max and self.lr_max > 0,
              f"need 0 <= lr_min <= lr_max and lr_max > 0, got lr_min={self.lr_min}, "
              f"lr_max={self.lr_max}.")
        _need(bool(self.output_dir), "output_dir must be set.")
        for name in ("data_parallel_calls", "data_prefetch"):
            value = getattr(self, name)
            _need(value == -1 or value >= (1 if name == "data_parallel_calls" else 0),
                  f"{name} must be -1 (autotune) or a count, got {value}.")
        replicas = len(self.device_list()) if self.devices else self.num_devices
        _need(self.batch_size % replicas == 0,
              f"batch_size={self.batch_size} does not split evenly over {replicas} devices.")
        _need(not (self.multi_worker and (self.devices or self.num_devices > 1)),
              "multi_worker runs one replica per worker; drop num_devices/devices.")
        return self

    def device_list(self) -> list[str] | None:
        """``devices`` as a list of names, or None when unset."""
        if not self.devices:
            return None
        return [name.strip() for name in self.devices.split(",") if name.strip()]

    def steps_for(self, num_train: int) -> int:
        """SGD steps per epoch for a training split of ``num_train`` images."""
        return self.steps_per_epoch or math.ceil(num_train / self.batch_size)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        unknown = sorted(set(data) - set(cls.field_names()))
        if unknown:
            raise ValueError(f"unknown config keys for {cls.__name__}: {', '.join(unknown)}.")
        return cls(**data)

    def incompatible_changes(self, saved: dict[str, Any]) -> list[str]:
        """Settings that differ from a saved run's and would break resuming it."""
        return sorted(key for key, value in self.to_dict().items()
                      if key not in self.RESUMABLE_CHANGES and key in saved
                      and saved[key] != value)


@dataclasses.dataclass
class SearchConfig(RunConfig):
    """ENAS search settings; defaults are the official micro search
    (`cifar10_micro_search.sh`), ``for_space("macro")`` gives the official macro one."""

    KIND: ClassVar[str] = "search"
    # How architectures are chosen: "enas" (controller), "darts" (architecture weights),
    # "gdas" (hard Gumbel samples of architecture weights) or "random" (random search
    # with weight sharing).
    strategy: str = "enas"
    num_valid: int = 5000
    # Controller.
    lstm_size: int = 64
    tanh_constant: float = 1.1
    op_tanh_reduce: float = 2.5
    temperature: float = 0.0  # 0 disables, as official CIFAR-10.
    controller_lr: float = 0.0035
    entropy_weight: float = 1e-4
    baseline_decay: float = 0.99
    controller_train_steps: int = 30
    controller_num_aggregate: int = 10
    # Macro controller: the skip penalty pulls the skip probability towards skip_target.
    skip_target: float = 0.4
    skip_weight: float = 0.8
    # DARTS architecture weights: Adam with betas (arch_beta1, arch_beta2) and coupled
    # weight decay; unrolled: the second-order gradient.
    arch_lr: float = 3e-4
    arch_weight_decay: float = 1e-3
    arch_beta1: float = 0.5
    arch_beta2: float = 0.999
    unrolled: bool = False
    # GDAS: the Gumbel-softmax temperature falls linearly from tau_max to tau_min.
    tau_max: float = 10.0
    tau_min: float = 0.1
    # A results table of the space (NAS-Bench-201: an official API file or a JSON/CSV
    # table) to look the derived architecture up in; see ``enas_tf.lookup``.
    benchmark_file: str | None = None
    benchmark_dataset: str = "cifar10"
    # Supernet weight layout: "official", or "compact" (learns faster; see README).
    weight_sharing: str = "official"
    # Deriving the final architecture.
    derive_num_samples: int = 100
    # Uniformly random architectures scored on the same weights, for comparison.
    derive_random_samples: int = 10

    RESUMABLE_CHANGES: ClassVar[tuple[str, ...]] = (
        RunConfig.RESUMABLE_CHANGES + ("derive_num_samples", "derive_random_samples",
                                       "benchmark_file", "benchmark_dataset"))
    POSITIVE_INTS: ClassVar[tuple[str, ...]] = RunConfig.POSITIVE_INTS + (
        "num_valid", "lstm_size", "controller_train_steps", "controller_num_aggregate",
        "derive_num_samples", "derive_random_samples")
    CHOICES: ClassVar[dict[str, tuple]] = {**RunConfig.CHOICES,
                                           "weight_sharing": WEIGHT_SHARING,
                                           "strategy": STRATEGY_NAMES}
    NON_NEGATIVE: ClassVar[tuple[str, ...]] = RunConfig.NON_NEGATIVE + (
        "entropy_weight", "temperature", "controller_lr", "skip_weight", "arch_lr",
        "arch_weight_decay")

    def validate(self) -> "SearchConfig":
        super().validate()
        supported = get_components(self.search_space).strategies
        _need(self.strategy in supported,
              f"strategy {self.strategy} does not search the {self.search_space} space; it is "
              f"searched by: {', '.join(supported)}.")
        _need(self.strategy == "darts" or not self.unrolled,
              "unrolled (the second-order gradient) applies to strategy darts.")
        _need(0.0 < self.tau_min <= self.tau_max,
              f"need 0 < tau_min <= tau_max, got tau_min={self.tau_min}, "
              f"tau_max={self.tau_max}.")
        _need(not self.benchmark_file or os.path.exists(self.benchmark_file),
              f"benchmark_file {self.benchmark_file} does not exist.")
        _need(0.0 <= self.arch_beta1 < 1.0 and 0.0 <= self.arch_beta2 < 1.0,
              "arch_beta1 and arch_beta2 must be in [0, 1).")
        _need(0.0 <= self.baseline_decay < 1.0,
              f"baseline_decay must be in [0, 1), got {self.baseline_decay}.")
        _need(self.tanh_constant >= 0.0 and self.op_tanh_reduce > 0.0,
              "tanh_constant must be >= 0 and op_tanh_reduce > 0.")
        return self


@dataclasses.dataclass
class FinalConfig(RunConfig):
    """Training one architecture from scratch (official `cifar10_micro_final.sh`, plus
    cutout 16 as used for the published 2.89% error; ``for_space("macro")``: official
    `cifar10_macro_final.sh`)."""

    KIND: ClassVar[str] = "final"
    # The architecture: an official ENAS integer string, or the JSON a search writes.
    # Neither: the published ENAS micro architecture.
    arc: str | None = None
    arc_file: str | None = None
    num_valid: int = 0  # Final training uses the whole training split.
    num_layers: int = 15
    filters: int = 36
    keep_prob: float = 0.8
    drop_path_keep_prob: float = 0.6
    cutout: int = 16
    batch_size: int = 144
    num_epochs: int = 630
    l2_reg: float = 2e-4
    lr_min: float = 0.0001
    eval_every: int = 1  # Test-set evaluation every this many epochs (and at the end).
    # Macro: separable ops as plain convs, as the official final network built them.
    sep_as_conv: bool = False
    # Recurrent: averaged SGD starts once the validation perplexity is worse than the
    # best of the epochs before the last asgd_patience ones (enas_lm: 10).
    asgd_patience: int = 10
    # Also write the trained model as a TF SavedModel for serving (output_dir/savedmodel).
    export_savedmodel: bool = False
    output_dir: str = "runs/enas_micro_final"

    POSITIVE_INTS: ClassVar[tuple[str, ...]] = RunConfig.POSITIVE_INTS + ("eval_every",
                                                                          "asgd_patience")
    NON_NEGATIVE: ClassVar[tuple[str, ...]] = RunConfig.NON_NEGATIVE + ("num_valid", "cutout")
    RESUMABLE_CHANGES: ClassVar[tuple[str, ...]] = (
        RunConfig.RESUMABLE_CHANGES + ("eval_every", "export_savedmodel"))

    def validate(self) -> "FinalConfig":
        super().validate()
        _need(0.0 < self.drop_path_keep_prob <= 1.0,
              f"drop_path_keep_prob must be in (0, 1], got {self.drop_path_keep_prob}.")
        _need(not (self.arc and self.arc_file), "give --arc or --arc_file, not both.")
        return self


@dataclasses.dataclass
class DrawConfig(ConfigFields):
    """Drawing one architecture as a PNG (``main.py --mode=draw``).

    ``arc`` / ``arc_file`` as in ``FinalConfig`` (neither: the published architecture);
    ``output_file`` defaults to the architecture file's name with ``.png``, else
    ``architecture.png``.
    """

    KIND: ClassVar[str] = "draw"
    search_space: str = "micro"
    arc: str | None = None
    arc_file: str | None = None
    num_nodes: int = 5
    num_layers: int = 24
    num_branches: int = 4
    output_file: str | None = None

    CHOICES: ClassVar[dict[str, tuple]] = {"search_space": SPACE_NAMES}

    def validate(self) -> "DrawConfig":
        _need(self.search_space in SPACE_NAMES, f"search_space must be one of "
              f"{', '.join(SPACE_NAMES)}, got {self.search_space!r}.")
        for name in ("num_nodes", "num_layers", "num_branches"):
            _need(getattr(self, name) >= 1, f"{name} must be >= 1, got {getattr(self, name)}.")
        _need(not (self.arc and self.arc_file), "give --arc or --arc_file, not both.")
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def picture_path(self) -> str:
        if self.output_file:
            return self.output_file
        if self.arc_file:
            return os.path.splitext(self.arc_file)[0] + ".png"
        return "architecture.png"
