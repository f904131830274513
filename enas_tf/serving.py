"""Serving a found architecture: the trained final model as a TensorFlow SavedModel.

The SavedModel carries the computation and the weights only, so it loads with
``tf.saved_model.load`` (or TF Serving, TFLite's converter, ...) where enas-tf is not
installed. Image models get the dataset's normalisation built in, so clients send raw
pixels; language models get their vocabulary.

Endpoints of an image classifier:
  ``serve(images)``: uint8 pixels ``[batch, H, W, C]`` -> ``{"logits", "probabilities"}``
    (also the ``serving_default`` signature).
  ``serve_normalized(images)``: float32 images normalised as in training -> logits, the
    Keras model's own output.
Endpoints of a language model:
  ``serve(tokens)``: int32 token ids ``[batch, time]`` -> ``{"logits", "log_probabilities"}``
    for the next token at every position, from a zero state.
  ``vocabulary()``: the words, id order.
"""

from __future__ import annotations

import os
import shutil
from typing import Sequence

import keras
import numpy as np
import tensorflow as tf

from enas_tf.training.safety import check_output_dir


def _write_atomically(archive: keras.export.ExportArchive, path: str) -> str:
    """Writes the archive beside ``path``, then moves it into place: a killed export never
    leaves half a SavedModel where a server would load it."""
    path = os.path.abspath(path)
    if os.path.isfile(path):
        raise FileExistsError(f"cannot export a SavedModel to {path}: it is a file.")
    check_output_dir(os.path.dirname(path))
    partial, previous = f"{path}.partial", f"{path}.previous"
    for leftover in (partial, previous):
        shutil.rmtree(leftover, ignore_errors=True)
    archive.write_out(partial, verbose=False)
    if os.path.exists(path):
        os.replace(path, previous)
    os.replace(partial, path)
    shutil.rmtree(previous, ignore_errors=True)
    return path


def export_image_classifier(model: keras.Model, path: str, image_shape: Sequence[int],
                            mean: Sequence[float], std: Sequence[float],
                            pixels: bool = True) -> str:
    """Exports a trained image classifier with its input normalisation; returns the path.

    ``pixels``: ``serve`` takes uint8 pixels (read on the [0, 1] scale); else float32
    values as the training arrays held them (``ImageSplits.from_arrays`` of floats).

    Example:

    ```python
    export_image_classifier(model, "runs/final/savedmodel", data.image_shape,
                            data.mean, data.std)
    served = tf.saved_model.load("runs/final/savedmodel")
    probabilities = served.serve(uint8_images)["probabilities"]
    ```
    """
    image_shape = tuple(int(s) for s in image_shape)
    if len(image_shape) != 3:
        raise ValueError(f"image_shape must be (height, width, channels), got {image_shape}.")
    mean = tf.constant(np.asarray(mean, np.float32))
    std = tf.constant(np.asarray(std, np.float32))

    scale = 1.0 / 255.0 if pixels else 1.0

    def classify(images):
        normalized = (tf.cast(images, tf.float32) * scale - mean) / std
        logits = model(normalized, training=False)
        return {"logits": logits, "probabilities": tf.nn.softmax(logits)}

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", classify, input_signature=[
        tf.TensorSpec((None,) + image_shape, tf.uint8 if pixels else tf.float32,
                      name="images")])
    archive.add_endpoint("serve_normalized", lambda images: model(images, training=False),
                         input_signature=[tf.TensorSpec((None,) + image_shape, tf.float32,
                                                        name="images")])
    return _write_atomically(archive, path)


def export_language_model(model: keras.Model, path: str, vocabulary: Sequence[str]) -> str:
    """Exports a trained language model and its vocabulary; returns the path."""
    vocabulary = list(vocabulary)
    if len(vocabulary) != model.vocab_size:
        raise ValueError(f"the vocabulary has {len(vocabulary)} words but the model predicts "
                         f"{model.vocab_size}.")
    words = tf.constant(vocabulary, tf.string)

    def predict(tokens):
        logits = model(tokens, training=False)
        return {"logits": logits, "log_probabilities": tf.nn.log_softmax(logits)}

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", predict, input_signature=[
        tf.TensorSpec((None, None), tf.int32, name="tokens")])
    archive.add_endpoint("vocabulary", lambda: words, input_signature=[])
    return _write_atomically(archive, path)


def export_savedmodel(model: keras.Model, path: str, data) -> str:
    """Exports a final model of any space for serving, taking what it needs from ``data``
    (image statistics of ``ImageSplits``, the vocabulary of ``TextSplits``).

    Args:
      model: a trained final network (``FinalTraining.model``, ``model.keras``).
      path: the SavedModel directory to write.
      data: the splits it was trained on.

    Returns the path. Example:

    ```python
    export_savedmodel(keras.models.load_model("runs/final/model.keras"),
                      "runs/final/savedmodel", load_dataset("digits"))
    ```
    """
    if hasattr(data, "vocabulary"):
        return export_language_model(model, path, data.vocabulary)
    return export_image_classifier(model, path, data.image_shape, data.mean, data.std,
                                   pixels=getattr(data, "scale", 1.0 / 255.0) != 1.0)
