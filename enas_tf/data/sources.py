"""Every ``--dataset`` value: named data sets and the forms that name a user's data.

A ``DataSource`` knows what its data hold (``kind``: images or text), how to load them
into splits, and their shape without loading them (``--summary_only``). Named sources
are registered here (``cifar10``, ``cifar100``, ``digits``, ``imagenet16-120``,
``imagenet2012``, the ``nb201:`` splits, ``ptb``, ``wikitext2``, ``python_docs``);
``FORMS`` turn a prefixed value into a source: ``tfds:NAME`` (any TFDS image
classification data set), ``npz:PATH`` (arrays ``x_train``, ``y_train``, optional
``x_valid``/``y_valid`` and ``x_test``/``y_test``), ``text:DIR`` (``train.txt``,
``valid.txt``, ``test.txt``).

Example:

```python
source = resolve_dataset("tfds:mnist")
source.kind                          # "images"
splits = source.splits(source.request(num_valid=5000))
```
"""

from __future__ import annotations

import dataclasses
import os
import zipfile
from typing import Any, Callable

from enas_tf.registry import Registry


@dataclasses.dataclass(frozen=True)
class DataRequest:
    """The data settings a source loads with (``enas_tf.data.settings.DataSettings``)."""

    data_dir: str | None = None
    num_valid: int | None = None  # None: the source's own default
    download: bool = True
    seed: int = 0


@dataclasses.dataclass(frozen=True)
class DataSource:
    """One ``--dataset`` value.

    Attributes:
      name: the value (``cifar10``, ``tfds:mnist``, ``npz:data/x.npz``).
      kind: ``"images"`` (classification) or ``"text"`` (language modelling); a search
        space runs on the kind it models (``SpaceComponents.data_kind``). None: data
        given from Python, whose kind is read off the data.
      load: ``DataRequest -> ImageSplits | TextSplits``.
      shape: ``DataRequest -> (image shape or None, classes or vocabulary size)``,
        without loading the data.
      summary: a few words for ``--dataset``'s help.
      reads_data_dir: False for data shipped with an installed package.
      benchmark_dataset: NAS-Bench-201's name for these data, if it has them.
      num_valid: the default size of the validation split held out of training.

    Example:

    ```python
    source = resolve_dataset("npz:data/mine.npz")
    source.kind, source.name          # ('images', 'npz:data/mine.npz')
    ```
    """

    name: str
    kind: str | None
    load: Callable[[DataRequest], Any]
    shape: Callable[[DataRequest], tuple[tuple[int, int, int] | None, int]]
    summary: str = ""
    reads_data_dir: bool = True
    benchmark_dataset: str | None = None
    num_valid: int = 5000

    def request(self, data_dir=None, num_valid=None, download=True, seed=0) -> DataRequest:
        return DataRequest(data_dir, self.num_valid if num_valid is None else num_valid,
                           download, seed)

    def splits(self, request: DataRequest):
        """The loaded splits, their ``source`` this value (what ``config.json`` records
        and a resume loads again)."""
        splits = self.load(request)
        splits.source = self.name
        return splits


DATASETS: Registry[DataSource] = Registry("data set")


def register_dataset(source: DataSource) -> DataSource:
    """Makes ``source`` a ``--dataset`` value (and ``load_dataset`` name).

    Args:
      source: a ``DataSource`` with a new ``name``.

    Example:

    ```python
    register_dataset(DataSource("my_digits", "images", load_my_digits,
                                "my scanned digits"))
    ```
    """
    return DATASETS.register(source)


# --- prefixed forms -------------------------------------------------------------------


def _tfds_source(name: str) -> DataSource:
    from enas_tf.data import tfds_images

    def shape(request):
        info = tfds_images.tfds_image_info(name, request.data_dir)
        return info.image_shape, info.num_classes

    return DataSource(f"tfds:{name}", "images", summary="any TFDS image classification set",
                      load=lambda r: tfds_images.load_tfds_images(
                          name, r.data_dir, r.num_valid, r.download),
                      shape=shape)


def _npz_source(path: str) -> DataSource:
    def load(request):
        from enas_tf.data.arrays import hold_out_last
        from enas_tf.data.pipeline import ImageSplits

        arrays = _read_npz(path)
        (x, y), valid = (arrays["x_train"], arrays["y_train"]), None
        if "x_valid" in arrays:
            valid = (arrays["x_valid"], arrays["y_valid"])
        elif request.num_valid:
            (x, y), valid = hold_out_last(x, y, request.num_valid)
        test = (arrays["x_test"], arrays["y_test"]) if "x_test" in arrays else None
        return ImageSplits.from_arrays(x, y, valid=valid, test=test,
                                       name=os.path.basename(path))

    def shape(request):
        arrays = _read_npz(path)
        x = arrays["x_train"]
        labels = [arrays[k] for k in ("y_train", "y_valid", "y_test") if k in arrays]
        one_hot = labels[0].ndim == 2 and labels[0].shape[1] > 1
        classes = labels[0].shape[1] if one_hot else max(int(y.max()) for y in labels) + 1
        return (*x.shape[1:3], x.shape[3] if x.ndim == 4 else 1), int(classes)

    return DataSource(f"npz:{path}", "images", summary="a user's arrays", load=load,
                      shape=shape)


def _read_npz(path: str) -> dict:
    import numpy as np

    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path} does not exist (--dataset=npz:PATH names a .npz file "
                                "of x_train, y_train and optionally x_test, y_test).")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path} is not a .npz file (the zip of arrays numpy.savez writes).")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except (OSError, ValueError) as error:  # object arrays, a damaged member
        raise ValueError(f"{path} holds arrays numpy cannot read safely "
                         f"({str(error).splitlines()[0]}).") from None
    missing = [k for k in ("x_train", "y_train") if k not in arrays]
    pairs = [(x, y) for x, y in (("x_valid", "y_valid"), ("x_test", "y_test"))
             if (x in arrays) != (y in arrays)]
    if missing or pairs:
        what = missing or [f"{x} and {y} together" for x, y in pairs]
        raise ValueError(f"{path} needs {', '.join(what)} (it has "
                         f"{', '.join(sorted(arrays)) or 'no arrays'}).")
    return arrays


def _text_source(path: str) -> DataSource:
    from enas_tf.data import text

    def load(request):
        return text.load_text_dir(path)

    def shape(request):
        return None, len(load(request).vocabulary)

    return DataSource(f"text:{path}", "text", summary="a directory of train/valid/test.txt",
                      load=load, shape=shape)


def _given_in_python(value: str) -> DataSource:
    """Data a notebook passed to a loop (``ImageSplits.from_arrays``, ...): recorded by
    their fingerprint or name, not loadable by that record."""
    def load(request):
        raise ValueError(f"dataset {value} was given from Python; pass the same data to the "
                         "loop again (a record cannot load them).")

    return DataSource(value, None, load=load, shape=load, summary="given from Python")


@dataclasses.dataclass(frozen=True)
class Form:
    """A prefixed ``--dataset`` value: ``PREFIX:ARGUMENT`` makes a source (``make``);
    ``kind`` None for the records of data given in Python, which no user types."""

    argument: str
    make: Callable[[str], DataSource]
    kind: str | None = None
    help: str = ""


FORMS: dict[str, Form] = {
    "tfds": Form("NAME", _tfds_source, "images", "any TFDS image classification data set"),
    "npz": Form("PATH", _npz_source, "images",
                "arrays x_train, y_train, optional x_valid/y_valid, x_test/y_test"),
    "text": Form("DIR", _text_source, "text", "train.txt, valid.txt, test.txt"),
    # Records of data given in Python (ImageSplits.from_arrays, TextSplits.from_files,
    # a constructor).
    "arrays": Form("FINGERPRINT", _given_in_python), "files": Form("PATH", _given_in_python),
    "python": Form("NAME", _given_in_python)}


def _typed_forms(kind: str | None = None) -> list[str]:
    """``PREFIX:ARGUMENT`` of the forms a user types (holding ``kind``, if given)."""
    return [f"{prefix}:{form.argument}" for prefix, form in FORMS.items()
            if form.kind is not None and kind in (None, form.kind)]


def resolve_dataset(value: "str | DataSource") -> DataSource:
    """The source of a ``--dataset`` value; ``ValueError`` naming the accepted ones.

    Args:
      value: a registered name, a prefixed form (``tfds:NAME``, ``npz:PATH``,
        ``text:DIR``) or a ``DataSource``.

    Example:

    ```python
    resolve_dataset("tfds:mnist").kind      # 'images'
    ```
    """
    if isinstance(value, DataSource):
        return value
    if value in DATASETS:
        return DATASETS.get(value)
    prefix, _, rest = str(value).partition(":")
    if prefix in FORMS and rest:
        return FORMS[prefix].make(rest)
    raise ValueError(f"unknown dataset {value!r}; choose {', '.join(DATASETS.names())}, or "
                     f"{', '.join(_typed_forms())}.")


def dataset_kind(value: str) -> str | None:
    """What a ``--dataset`` value holds: ``"images"`` or ``"text"``; None for data given
    from Python (their kind is checked on the data)."""
    return resolve_dataset(value).kind


def datasets_of_kind(kind: str) -> tuple[str, ...]:
    """The named data sets and forms holding ``kind``, for messages."""
    return tuple(s.name for s in DATASETS if s.kind == kind) + tuple(_typed_forms(kind))


def dataset_help() -> str:
    """``--dataset``'s help, listing every registered source and form."""
    named = "; ".join(f"{s.name} ({s.summary})" for s in DATASETS)
    forms = ", ".join(f"{prefix}:{form.argument} ({form.help})"
                      for prefix, form in FORMS.items() if form.kind is not None)
    return f"Data: {named}; or {forms}."


# --- the named data sets ---------------------------------------------------------------


def _loader(module: str, function: str, *args, uses: tuple[str, ...]
            ) -> Callable[[DataRequest], Any]:
    """A ``load`` calling ``enas_tf.data.<module>.<function>(*args, **the request's
    fields named in uses)`` when the data are needed (so naming a data set imports
    nothing heavy)."""
    def load(request: DataRequest):
        import importlib

        call = getattr(importlib.import_module(f"enas_tf.data.{module}"), function)
        values = {"data_dir": request.data_dir, "num_valid": request.num_valid,
                  "download": request.download, "seed": request.seed}
        return call(*args, **{k: v for k, v in values.items() if k in uses})

    return load


def _fixed(image_shape, classes):
    return lambda request: (image_shape, classes)


for _name, _classes in (("cifar10", 10), ("cifar100", 100)):
    register_dataset(DataSource(
        _name, "images", summary=f"TFDS {_name}, the last num_valid training images validate",
        load=_loader("tfds_images", f"load_{_name}", uses=("data_dir", "num_valid", "download")),
        shape=_fixed((32, 32, 3), _classes), benchmark_dataset=_name))
register_dataset(DataSource(
    "digits", "images", summary="offline: scikit-learn's 8x8 digits",
    load=_loader("digits", "load_digits", uses=("num_valid", "seed")),
    shape=_fixed((8, 8, 1), 10), reads_data_dir=False, num_valid=300))
register_dataset(DataSource(
    "imagenet16-120", "images", summary="ImageNet16-120 batch files in --data_dir",
    load=_loader("imagenet16", "load_imagenet16", uses=("data_dir", "num_valid")),
    shape=_fixed((16, 16, 3), 120), benchmark_dataset="ImageNet16-120"))
register_dataset(DataSource(
    "imagenet2012", "images", summary="TFDS ImageNet, final training in the mobile setting",
    load=_loader("imagenet", "load_imagenet", uses=("data_dir", "download")),
    shape=_fixed((224, 224, 3), 1000), num_valid=0))
for _name in ("cifar10-valid", "cifar100", "ImageNet16-120"):
    register_dataset(DataSource(
        f"nb201:{_name}", "images", summary="NAS-Bench-201's own splits",
        load=_loader("nb201", "load_nb201", _name, uses=("data_dir", "download")),
        shape=_fixed((16, 16, 3) if _name.startswith("ImageNet") else (32, 32, 3),
                     {"cifar10-valid": 10, "cifar100": 100}.get(_name, 120)),
        benchmark_dataset="cifar10" if _name == "cifar10-valid" else _name))
register_dataset(DataSource(
    "ptb", "text", summary="Penn Treebank files in --data_dir",
    load=_loader("text", "load_ptb", uses=("data_dir",)), shape=_fixed(None, 10000)))
register_dataset(DataSource(
    "wikitext2", "text", summary="WikiText-2 files in --data_dir",
    load=_loader("text", "load_wikitext2", uses=("data_dir",)), shape=_fixed(None, 33278)))
register_dataset(DataSource(
    "python_docs", "text", summary="offline: the Python documentation's text",
    load=_loader("text", "load_python_docs", uses=()), reads_data_dir=False,
    shape=lambda request: (None, 2000)))
