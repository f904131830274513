"""A user's own data: arrays, tf.data datasets, .npz files and text, from Python and the
CLI, through the real loops."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from conftest import ROOT, tiny_config, tiny_final_config
from enas_tf.data import ImageSplits, TextSplits, load_dataset
from enas_tf.loops.final import FinalTraining
from enas_tf.loops.search import Search


def digit_arrays(size=16):
    """scikit-learn's digits as a Keras user holds them: float [N, H, W] in [0, 16]."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = tf.image.resize(digits.images[..., None], [size, size]).numpy()[..., 0]
    return images.astype(np.float32), digits.target


def test_from_arrays_infers_shape_classes_and_holds_out_the_last_examples():
    x, y = digit_arrays()
    splits = ImageSplits.from_arrays(x, y, validation_split=0.25, test=(x[:50], y[:50]))
    assert splits.image_shape == (16, 16, 1) and splits.num_classes == 10
    cut = len(x) - round(len(x) * 0.25)
    assert (splits.num_examples("train"), splits.num_examples("valid")) == (cut, len(x) - cut)
    np.testing.assert_array_equal(splits.valid[0][..., 0], x[cut:])  # as Keras: the tail
    assert splits.train[0].dtype == np.float32 and splits.scale == 1.0 and splits.pad == 2
    # Statistics of the training split on the values' own scale.
    np.testing.assert_allclose(splits.mean, [x[:cut].mean()], rtol=1e-4)
    batch = next(iter(splits.dataset("train", cut)))[0].numpy()
    np.testing.assert_allclose(batch.mean(), 0.0, atol=1e-3)
    np.testing.assert_allclose(batch.std(), 1.0, atol=1e-3)
    assert splits.source.startswith("arrays:")
    again = ImageSplits.from_arrays(x, y, validation_split=0.25, test=(x[:50], y[:50]))
    assert again.source == splits.source
    other = ImageSplits.from_arrays(x[::-1], y[::-1], validation_split=0.25)
    assert other.source != splits.source


def test_from_arrays_takes_uint8_rgb_one_hot_labels_and_explicit_splits():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(40, 8, 8, 3)).astype(np.uint8)
    labels = rng.integers(0, 7, size=40)
    one_hot = np.eye(7)[labels]
    splits = ImageSplits.from_arrays(x[:30], one_hot[:30], valid=(x[30:], one_hot[30:]))
    assert splits.num_classes == 7 and splits.scale == 1 / 255
    np.testing.assert_array_equal(splits.train[1], labels[:30])
    assert splits.num_examples("test") == 0
    # Integer labels [N, 1] and a class count larger than the labels seen.
    splits = ImageSplits.from_arrays(x, labels[:, None], num_classes=12)
    assert splits.num_classes == 12 and splits.train[1].shape == (40,)


@pytest.mark.parametrize("call, message", [
    (lambda x, y: ImageSplits.from_arrays(x, y[:-1]), "x has 20 images but y has 19 labels"),
    (lambda x, y: ImageSplits.from_arrays(x[:, 0, 0], y), r"x must be images \[N, H, W\] or"),
    (lambda x, y: ImageSplits.from_arrays(x, y, num_classes=3), "a label is 4 but num_classes=3"),
    (lambda x, y: ImageSplits.from_arrays(x, y - 1), "y holds negative labels"),
    (lambda x, y: ImageSplits.from_arrays(x, y, validation_split=1.5),
     r"validation_split must be in \(0, 1\)"),
    (lambda x, y: ImageSplits.from_arrays(x, y, valid=(x[:, :4], y)),
     "the splits' images differ in shape: train 8x8x3, valid 4x8x3"),
    (lambda x, y: ImageSplits.from_arrays(x.astype(np.int32) + 300, y), "outside 0..255"),
    (lambda x, y: ImageSplits.from_arrays(x, y.astype(str)), "must hold class indices"),
])
def test_from_arrays_names_what_does_not_fit(call, message):
    x = np.zeros((20, 8, 8, 3), np.uint8)
    y = np.arange(20) % 5
    with pytest.raises(ValueError, match=message):
        call(x, y)


def test_from_tf_data_reads_batched_unbatched_and_dict_datasets():
    x, y = digit_arrays(8)
    train = tf.data.Dataset.from_tensor_slices((x[:100], y[:100])).batch(32)
    valid = tf.data.Dataset.from_tensor_slices({"image": x[100:140], "label": y[100:140]})
    test = tf.data.Dataset.from_tensor_slices((x[140:160, ..., None], y[140:160]))
    splits = ImageSplits.from_tf_data(train, valid, test)
    assert [splits.num_examples(s) for s in ("train", "valid", "test")] == [100, 40, 20]
    assert splits.image_shape == (8, 8, 1)
    np.testing.assert_array_equal(splits.valid[1], y[100:140])
    with pytest.raises(ValueError, match="repeats forever"):
        ImageSplits.from_tf_data(train.repeat())


def test_text_from_files_and_tokens(tmp_path):
    for split, text in (("train", "the cat sat\n\nthe dog sat\n"), ("valid", "the cat ran\n"),
                        ("test", "a dog\n")):
        (tmp_path / f"{split}.txt").write_text(text)
    text = TextSplits.from_files(*(str(tmp_path / f"{s}.txt") for s in ("train", "valid", "test")))
    # Blank lines count (one <eos> each), as DARTS reads PTB and WikiText-2.
    assert len(text.train) == 3 + 1 + 1 + 3 + 1
    assert text.vocabulary[-1] == "<unk>" and text.vocabulary[text.valid[2]] == "<unk>"
    same = load_dataset(f"text:{tmp_path}")
    np.testing.assert_array_equal(same.train, text.train)
    assert same.source == f"text:{tmp_path}"
    tokens = TextSplits.from_tokens("a b a c".split(), "a b".split(), "c d".split())
    assert tokens.vocabulary == ("a", "<eos>", "b", "c", "<unk>")
    assert tokens.vocabulary[tokens.test[1]] == "<unk>"
    ids = TextSplits.from_tokens([0, 1, 2, 1], [1, 2], [2, 0])
    assert ids.num_classes == 3
    with pytest.raises(ValueError, match="token ids must be in 0..2"):
        TextSplits.from_tokens([0, 1, 2], [5], [0], vocabulary=("x", "y", "z"))


def test_search_and_final_training_on_a_users_arrays_record_and_guard_the_data(tmp_path):
    x, y = digit_arrays(16)
    splits = ImageSplits.from_arrays(x[:1500], y[:1500], validation_split=0.2,
                                     test=(x[1500:], y[1500:]))
    out = tmp_path / "search"
    # No dataset name to keep in sync: the config says digits, the data are arrays.
    result = Search(tiny_config(out, search_space="micro"), splits).run()
    assert np.isfinite(result["valid_accuracy"])
    with open(out / "config.json") as f:
        assert json.load(f)["dataset"] == splits.source
    # A resume on other arrays is refused in one line naming both.
    other = ImageSplits.from_arrays(x[:1500] * 0.5, y[:1500], validation_split=0.2)
    with pytest.raises(ValueError, match=r"different settings \(dataset: 'arrays:\w+' -> "
                                         r"'arrays:\w+'\)"):
        Search(tiny_config(out, search_space="micro", num_epochs=2), other).run()
    # The found architecture retrained on the same arrays, reported on their test split.
    config = tiny_final_config(tmp_path / "final", aux_weight=0.0, cutout=0, num_nodes=2)
    trained = FinalTraining(config, result["arc"], splits).run()
    assert 0.0 <= trained["test_accuracy"] <= 1.0
    with pytest.raises(ValueError, match="has no test split to report on"):
        FinalTraining(tiny_final_config(tmp_path / "final2", aux_weight=0.0, num_nodes=2),
                      result["arc"], ImageSplits.from_arrays(x, y))


@pytest.mark.parametrize("space, size, message", [
    ("darts", 10, "the darts space needs image sides multiples of 4 (factorized reductions "
                  "of even sides), got 10x10; the smallest it takes is 4x4"),
    ("micro", 10, "the micro space needs image sides multiples of 4"),
    ("nb201", 6, "the nb201 space needs image sides multiples of 4"),
])
def test_a_space_refuses_images_it_cannot_reduce_naming_the_smallest(tmp_path, space, size,
                                                                     message):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(64, size, size, 3)).astype(np.uint8)
    splits = ImageSplits.from_arrays(x, np.arange(64) % 4, validation_split=0.5)
    from enas_tf.config import SearchConfig

    config = SearchConfig.for_space(space, num_layers=3 if space == "darts" else 1,
                                    filters=4, batch_size=8, aux_weight=0.0,
                                    output_dir=str(tmp_path))
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Search(config, splits)
    assert not os.path.exists(tmp_path / "config.json")  # refused before anything is written


def test_a_space_refuses_data_of_the_wrong_kind(tmp_path):
    text = TextSplits.from_tokens([0, 1, 2, 1] * 50, [1, 2] * 20, [2, 0] * 20)
    with pytest.raises(ValueError, match="the micro space models images, but tokens holds text"):
        Search(tiny_config(tmp_path), text)


def test_the_cli_searches_an_npz_file_and_sizes_a_network_for_it(tmp_path):
    x, y = digit_arrays(16)
    path = tmp_path / "digits16.npz"
    np.savez(path, x_train=(x[:1400] * 16).astype(np.uint8), y_train=y[:1400],
             x_test=(x[1400:] * 16).astype(np.uint8), y_test=y[1400:])
    common = [sys.executable, os.path.join(ROOT, "main.py"), f"--dataset=npz:{path}"]
    summary = subprocess.run(common + ["--mode=final", "--num_layers=1", "--filters=8",
                                       "--aux_weight=0", "--summary_only"],
                             capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert summary.returncode == 0, summary.stderr
    assert "multiply-adds per image:" in summary.stdout
    search = subprocess.run(common + [
        "--num_valid=300", "--num_layers=1", "--num_nodes=2", "--filters=4", "--batch_size=32",
        "--num_epochs=1", "--steps_per_epoch=3", "--controller_train_steps=1",
        "--controller_num_aggregate=2", "--derive_num_samples=2", "--derive_random_samples=2",
        "--aux_weight=0", "--verbose=0", f"--output_dir={tmp_path / 'run'}"],
        capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert search.returncode == 0, search.stderr[-3000:]
    assert "derived architecture:" in search.stdout
    with open(tmp_path / "run" / "config.json") as f:
        assert json.load(f)["dataset"] == f"npz:{path}"
    missing = subprocess.run(common[:2] + [f"--dataset=npz:{tmp_path}/absent.npz"],
                             capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert missing.returncode == 2
    assert f"error: {tmp_path}/absent.npz does not exist" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_a_model_of_float_arrays_serves_those_floats(tmp_path):
    import keras

    from enas_tf.serving import export_savedmodel

    x, y = digit_arrays(8)
    splits = ImageSplits.from_arrays(x, y, validation_split=0.1)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(10)])
    served = tf.saved_model.load(export_savedmodel(model, str(tmp_path / "sm"), splits))
    got = served.serve(tf.constant(x[:4, ..., None]))["logits"].numpy()
    expected = model((x[:4, ..., None] - splits.mean) / splits.std).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
