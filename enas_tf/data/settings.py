"""The data settings of a run: which data set, where it is, how the pipeline runs.

Every ``--dataset`` value is a source (``enas_tf.data.sources``) that says what its
data hold; a search space names the kind it runs on (``SpaceComponents.data_kind``), so
which spaces read which data sets is derived.

Example:

```python
DataSettings(dataset="digits", num_valid=300).validate()
```
"""

from __future__ import annotations

import dataclasses

from enas_tf.data.sources import dataset_help, datasets_of_kind, resolve_dataset
from enas_tf.options import Settings, need, option

__all__ = ["DataSettings", "datasets_of_kind"]


@dataclasses.dataclass
class DataSettings(Settings):
    """Where the data come from and how ``tf.data`` prepares them."""

    dataset: str = option("cifar10", dataset_help)
    data_dir: str | None = option(
        None, "Where the data are: the TFDS data directory (default: ~/tensorflow_datasets; "
        "ImageNet's manual downloads go in DIR/downloads/manual); for ptb, wikitext2 and "
        "imagenet16-120, the directory of their files.", resumable=True)
    download: bool = option(True, "Let TFDS download a data set when it is absent.",
                            resumable=True)
    num_valid: int = option(
        5000, "Training examples held out as a validation split (the controller's, in "
        "search; final training uses none by default), where the data set has no split of "
        "its own (nb201:*, imagenet2012).", minimum=0, modes=("search", "final"), final=0)
    cutout: int = option(16, "Final: side of the cutout square in pixels; 0 disables.",
                         minimum=0, modes=("final",))
    cutout_rule: str = option(
        "corner", "Final: where the cutout square falls: corner (ENAS: its top-left pixel "
        "uniform over the image, 150 px of a 16-px square masked on 32x32 on average) or "
        "centre (DARTS, AutoDL: its centre uniform, 196 px; the DARTS spaces' default).",
        choices=("corner", "centre"), modes=("final",))
    data_parallel_calls: int = option(
        -1, "Parallel calls of the tf.data augmentation map; -1 autotunes.", resumable=True)
    data_prefetch: int = option(
        -1, "Batches tf.data prepares ahead of the step; -1 autotunes.", resumable=True)
    data_threads: int = option(
        0, "Size of a private tf.data thread pool; 0 uses TensorFlow's shared pool.",
        minimum=0, resumable=True)

    MODES = ("search", "final")

    def check(self) -> None:
        resolve_dataset(self.dataset)  # ValueError naming the accepted values
        for name in ("data_parallel_calls", "data_prefetch"):
            value = getattr(self, name)
            need(value == -1 or value >= (1 if name == "data_parallel_calls" else 0),
                 f"{name} must be -1 (autotune) or a count, got {value}.")
