"""Data sets for search and training: named ones, TFDS, and a user's own.

``load_dataset`` turns a ``--dataset`` value into splits (``enas_tf.data.sources``);
``ImageSplits.from_arrays`` / ``from_tf_data`` and ``TextSplits.from_files`` /
``from_tokens`` take a user's data in Python.
"""

import os

from enas_tf.data.pipeline import DataNotFoundError, ImageSplits, PipelineOptions
from enas_tf.data.sources import (DATASETS, DataRequest, DataSource, dataset_kind,
                                  register_dataset, resolve_dataset)
from enas_tf.data.text import (QUICKSTART_VOCAB, TextSplits, load_ptb, load_python_docs,
                               load_wikitext2)
from enas_tf.data.tfds_images import load_cifar10, load_cifar100, load_tfds_images


def load_dataset(name: "str | DataSource", data_dir: str | None = None,
                 num_valid: int | None = None, download: bool = True,
                 seed: int = 0) -> ImageSplits | TextSplits:
    """The splits of a ``--dataset`` value: a named data set (``cifar10``, ``cifar100``,
    ``digits``, ``imagenet16-120``, ``imagenet2012``, ``nb201:cifar10-valid``,
    ``nb201:cifar100``, ``nb201:ImageNet16-120``, ``ptb``, ``wikitext2``,
    ``python_docs``), ``tfds:NAME``, ``npz:PATH`` or ``text:DIR``.

    Args:
      name: the ``--dataset`` value, or a ``DataSource``.
      data_dir: where its files are (CIFAR, ImageNet, PTB, ...); None for bundled or
        TFDS-managed data.
      num_valid: training examples held out for validation where the data set has no
        validation split of its own (default: the source's own).
      download: whether TFDS may download.
      seed: of any shuffling before the hold-out.

    Example:

    ```python
    digits = load_dataset("digits")
    mnist = load_dataset("tfds:mnist", num_valid=5000)
    ```
    """
    source = resolve_dataset(name)
    if data_dir and os.path.exists(data_dir) and not os.path.isdir(data_dir):
        raise DataNotFoundError(f"data directory {data_dir} is a file; give the directory "
                                f"that holds the {source.name} data (--data_dir).")
    if data_dir and not source.reads_data_dir:
        raise DataNotFoundError(f"{source.name} is bundled with an installed package and reads "
                                f"no data directory; drop --data_dir={data_dir}.")
    return source.splits(source.request(data_dir, num_valid, download, seed))


__all__ = ["DATASETS", "DataNotFoundError", "DataRequest", "DataSource", "ImageSplits",
           "PipelineOptions", "QUICKSTART_VOCAB", "TextSplits", "dataset_kind",
           "load_cifar10", "load_cifar100", "load_dataset", "load_ptb", "load_python_docs",
           "load_tfds_images", "load_wikitext2", "register_dataset", "resolve_dataset"]
