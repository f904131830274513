"""The named data sets and forms of --dataset, each through its real loading code on data
the test creates (TFDS mock data, ImageNet16 and WikiText files written here)."""

import json
import os
import pickle

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from conftest import ROOT
from enas_tf.data import DataNotFoundError, load_dataset, resolve_dataset
from enas_tf.data.nb201 import split_indices
from enas_tf.data.text import EOS

MOCK = tfds.testing.MockPolicy.USE_CODE
REFERENCE = os.path.join(ROOT, "..", "shared", "reference", "nas_bench_201_splits")


def test_cifar100_loads_through_tfds(tmp_path):
    with tfds.testing.mock_data(num_examples=40, policy=MOCK):
        splits = load_dataset("cifar100", data_dir=str(tmp_path), num_valid=10, download=False)
    assert splits.image_shape == (32, 32, 3) and splits.num_classes == 100
    assert [splits.num_examples(s) for s in ("train", "valid", "test")] == [30, 10, 40]
    assert splits.source == "cifar100"
    assert resolve_dataset("cifar100").benchmark_dataset == "cifar100"


def test_any_tfds_image_set_by_name(tmp_path):
    source = resolve_dataset("tfds:mnist")
    assert source.kind == "images"
    assert source.shape(source.request(str(tmp_path))) == ((28, 28, 1), 10)  # no data read
    with tfds.testing.mock_data(num_examples=30, policy=MOCK):
        splits = load_dataset("tfds:mnist", data_dir=str(tmp_path), num_valid=5, download=False)
    assert splits.image_shape == (28, 28, 1) and splits.num_classes == 10 and splits.pad == 3
    assert [splits.num_examples(s) for s in ("train", "valid", "test")] == [25, 5, 30]
    assert splits.source == "tfds:mnist"
    with pytest.raises(DataNotFoundError, match="TFDS has no data set 'no_such_set'"):
        load_dataset("tfds:no_such_set")
    with pytest.raises(ValueError, match="tfds:imdb_reviews is not image classification"):
        load_dataset("tfds:imdb_reviews", data_dir=str(tmp_path), download=False)


def test_nb201_split_masks_match_the_benchmarks_index_files():
    train, valid = split_indices("cifar10_train")
    assert (len(train), len(valid)) == (25_000, 25_000)
    assert list(train[:5]) == [0, 5, 7, 11, 13] and list(valid[:5]) == [1, 2, 3, 4, 6]
    xvalid, xtest = split_indices("cifar100_xvalid")
    assert (len(xvalid), len(xtest), list(xvalid[:5])) == (5_000, 5_000, [1, 3, 4, 5, 8])
    xvalid, xtest = split_indices("imagenet16_xvalid")
    assert list(xvalid[:5]) == [1, 2, 3, 6, 7] and list(xtest[:5]) == [0, 4, 5, 10, 11]
    if not os.path.isdir(REFERENCE):
        return  # the full comparison needs the reference copy beside the checkout
    for name, key, halves in (("cifar-split.txt", "cifar10_train", ("train", "valid")),
                              ("cifar100-test-split.txt", "cifar100_xvalid", ("xvalid", "xtest")),
                              ("imagenet-16-120-test-split.txt", "imagenet16_xvalid",
                               ("xvalid", "xtest"))):
        with open(os.path.join(REFERENCE, name)) as f:
            reference = json.load(f)
        for half, ours in zip(halves, split_indices(key)):
            np.testing.assert_array_equal(sorted(int(i) for i in reference[half][1]), ours)


def _serve(images_of, labels_of):
    """An ``as_dataset`` for TFDS' mock serving CIFAR-shaped examples in a shuffled order
    with ``train_<position>`` ids; ``images_of(split, positions)`` makes the images."""
    def as_dataset(self, split, *args, **kwargs):
        prefix = "test" if "test" in str(split) else "train"
        count = 10_000 if prefix == "test" else 50_000
        order = np.random.default_rng(1).permutation(count)
        return tf.data.Dataset.from_tensor_slices({
            "id": [f"{prefix}_{i:05d}" for i in order],
            "image": images_of(order), "label": labels_of(order)})
    return as_dataset


def _positions(images):
    """The file position each tiny image encodes (two bytes)."""
    return images[:, 0, 0, 0].astype(int) * 256 + images[:, 0, 0, 1]


def _encode(order):
    images = np.zeros((len(order), 1, 1, 3), np.uint8)
    images[:, 0, 0, 0], images[:, 0, 0, 1] = order // 256, order % 256
    return images


def test_nb201_cifar10_valid_is_the_benchmarks_halves_of_the_training_files(tmp_path):
    with tfds.testing.mock_data(as_dataset_fn=_serve(_encode, lambda order: order % 10)):
        splits = load_dataset("nb201:cifar10-valid", data_dir=str(tmp_path), download=False)
    train, valid = split_indices("cifar10_train")
    np.testing.assert_array_equal(_positions(splits.train[0]), train)
    np.testing.assert_array_equal(_positions(splits.valid[0]), valid)
    np.testing.assert_array_equal(splits.valid[1], valid % 10)
    assert splits.num_examples("test") == 10_000 and splits.source == "nb201:cifar10-valid"
    assert resolve_dataset("nb201:cifar10-valid").benchmark_dataset == "cifar10"


def test_nb201_cifar100_validates_and_tests_on_the_benchmarks_test_halves(tmp_path):
    with tfds.testing.mock_data(as_dataset_fn=_serve(_encode, lambda order: order % 100)):
        splits = load_dataset("nb201:cifar100", data_dir=str(tmp_path), download=False)
    xvalid, xtest = split_indices("cifar100_xvalid")
    assert splits.num_examples("train") == 50_000 and splits.num_classes == 100
    np.testing.assert_array_equal(_positions(splits.valid[0]), xvalid)
    np.testing.assert_array_equal(_positions(splits.test[0]), xtest)
    with tfds.testing.mock_data(num_examples=20, policy=MOCK):
        with pytest.raises(ValueError, match="split indexes 10,000 CIFAR-100 test images, but "
                                             "20 were loaded"):
            load_dataset("nb201:cifar100", data_dir=str(tmp_path), download=False)


def write_imagenet16(directory, val_labels, train_per_file=4, seed=0):
    """ImageNet16 pickle files: each row's first pixel is its index within its split."""
    rng = np.random.default_rng(seed)
    os.makedirs(directory, exist_ok=True)
    index = 0
    for i in range(1, 11):
        labels = rng.integers(1, 241, size=train_per_file)
        data = rng.integers(0, 256, size=(train_per_file, 768)).astype(np.uint8)
        data[:, 0] = np.arange(index, index + train_per_file) % 256
        index += train_per_file
        with open(os.path.join(directory, f"train_data_batch_{i}"), "wb") as f:
            pickle.dump({"data": data, "labels": list(labels)}, f)
    data = rng.integers(0, 256, size=(len(val_labels), 768)).astype(np.uint8)
    with open(os.path.join(directory, "val_data"), "wb") as f:
        pickle.dump({"data": data, "labels": list(val_labels)}, f)
    return data


def test_imagenet16_120_keeps_labels_1_to_120_in_file_order(tmp_path):
    val_labels = np.r_[np.arange(1, 121).repeat(50), [121, 500, 1000]]
    np.random.default_rng(2).shuffle(val_labels)
    data = write_imagenet16(tmp_path, val_labels)
    splits = load_dataset("imagenet16-120", data_dir=str(tmp_path), num_valid=5)
    assert splits.image_shape == (16, 16, 3) and splits.num_classes == 120 and splits.pad == 2
    kept = (val_labels >= 1) & (val_labels <= 120)
    np.testing.assert_array_equal(splits.test[1], val_labels[kept] - 1)
    # Rows of 768 bytes are the red, green and blue 16x16 planes.
    first = data[kept][0]
    np.testing.assert_array_equal(splits.test[0][0, :, :, 1], first[256:512].reshape(16, 16))
    assert splits.train[1].max() < 120
    benchmark = load_dataset("nb201:ImageNet16-120", data_dir=str(tmp_path))
    xvalid, xtest = split_indices("imagenet16_xvalid")
    np.testing.assert_array_equal(benchmark.valid[1], val_labels[kept][xvalid] - 1)
    np.testing.assert_array_equal(benchmark.test[1], val_labels[kept][xtest] - 1)
    os.remove(tmp_path / "train_data_batch_7")
    with pytest.raises(DataNotFoundError, match="lacks train_data_batch_7. ImageNet16 is the "
                                                "16x16 downsampled ImageNet"):
        load_dataset("imagenet16-120", data_dir=str(tmp_path))
    (tmp_path / "train_data_batch_7").write_bytes(b"not a pickle")
    with pytest.raises(DataNotFoundError, match="train_data_batch_7 is not an ImageNet16 batch"):
        load_dataset("imagenet16-120", data_dir=str(tmp_path))


def test_wikitext2_counts_blank_lines_and_names_missing_files(tmp_path):
    texts = {"train": " = Title = \n\n the cat sat on the <unk> \n",
             "valid": " the dog \n\n", "test": " sat \n"}
    for split, text in texts.items():
        (tmp_path / f"wiki.{split}.tokens").write_text(text)
    data = load_dataset("wikitext2", data_dir=str(tmp_path))
    words = [data.vocabulary[i] for i in data.train]
    assert words == ["=", "Title", "=", EOS, EOS, "the", "cat", "sat", "on", "the", "<unk>", EOS]
    assert [data.vocabulary[i] for i in data.valid] == ["the", "<unk>", EOS, EOS]  # 'dog' unseen
    assert data.source == "wikitext2" and data.kind == "text"
    os.remove(tmp_path / "wiki.valid.tokens")
    with pytest.raises(DataNotFoundError, match=r"wiki.valid.tokens does not exist. WikiText-2 "):
        load_dataset("wikitext2", data_dir=str(tmp_path))


def test_imagenet_streams_tfds_with_the_mobile_pipelines(tmp_path):
    with tfds.testing.mock_data(num_examples=8, policy=MOCK):
        data = load_dataset("imagenet2012", data_dir=str(tmp_path))
        images, labels = next(iter(data.dataset("train", 4, shuffle_seed=0, augment=True)))
        test_images, _ = next(iter(data.dataset("test", 4)))
    assert images.shape == (4, 224, 224, 3) and test_images.shape == (4, 224, 224, 3)
    assert labels.dtype == tf.int32 and data.num_classes == 1000
    assert data.num_examples("train") == 1_281_167 and data.num_examples("valid") == 0
    with pytest.raises(ValueError, match="it serves final training"):
        data.check_batch_size(32)


def test_imagenet_augmentation_pieces():
    from enas_tf.data.imagenet import center_crop, color_jitter, random_resized_crop

    image = tf.random.stateless_uniform([300, 400, 3], [1, 2])
    assert center_crop(image).shape == (224, 224, 3)
    assert random_resized_crop(image, tf.constant([3, 4])).shape == (224, 224, 3)
    jittered = color_jitter(image, tf.constant([5, 6]))
    assert float(tf.reduce_min(jittered)) >= 0.0 and float(tf.reduce_max(jittered)) <= 1.0
    assert float(tf.reduce_mean(tf.abs(jittered - image))) > 0.01


def test_darts_imagenet_network_in_the_mobile_setting():
    from enas_tf.components import get_components
    from enas_tf.config import FinalConfig
    from enas_tf.models.darts_final import FinalDartsNetwork
    from enas_tf.models.summary import trainable_parameters
    from enas_tf.search_spaces.darts import DartsSearchSpace

    arc = DartsSearchSpace().from_string("DARTS_V2")
    model = FinalDartsNetwork(arc, num_cells=14, filters=48, num_classes=1000, imagenet=True)
    logits, aux = model(tf.zeros([1, 224, 224, 3]), training=False, return_aux=True)
    assert logits.shape == (1, 1000) and aux.shape == (1, 1000)
    # DARTS reports 4.7M parameters (its count leaves the auxiliary head out).
    assert trainable_parameters(model) - trainable_parameters(model.aux_head) == 4_718_752
    config = FinalConfig.for_space("darts", darts_network="imagenet", aux_weight=0.4,
                                   dataset="imagenet2012")
    with pytest.raises(ValueError, match="needs image sides multiples of 32 and at least 224"):
        get_components("darts").input_sizes(config).check("darts", (192, 192, 3))
    with pytest.raises(ValueError, match="darts_network applies to the darts space"):
        FinalConfig.for_space("micro", darts_network="imagenet").validate()


def test_label_smoothing_and_the_exponential_schedule():
    from enas_tf.training.schedules import epoch_learning_rate
    from enas_tf.training.steps import sum_cross_entropy

    logits = tf.constant([[2.0, 0.0, -1.0], [0.5, 0.5, 3.0]])
    labels = tf.constant([0, 1])
    log_p = tf.nn.log_softmax(logits).numpy()
    targets = 0.9 * np.eye(3)[[0, 1]] + 0.1 / 3
    expected = -(targets * log_p).sum()
    np.testing.assert_allclose(float(sum_cross_entropy(labels, logits, 0.1)), expected, rtol=1e-6)
    config = type("C", (), dict(lr_schedule="exponential", lr_max=0.1, lr_decay=0.97))
    np.testing.assert_allclose(epoch_learning_rate(config, 10), 0.1 * 0.97 ** 10)


@pytest.mark.parametrize("dataset, given, looked_up", [
    ("nb201:cifar100", None, "cifar100"), ("nb201:ImageNet16-120", None, "ImageNet16-120"),
    ("nb201:cifar10-valid", None, "cifar10"), ("imagenet16-120", None, "ImageNet16-120"),
    ("digits", None, "cifar10"), ("arrays:0123abcd", None, "cifar10"),
    ("nb201:cifar100", "cifar10-valid", "cifar10-valid")])
def test_the_benchmark_is_looked_up_on_the_data_searched(dataset, given, looked_up):
    from types import SimpleNamespace

    from enas_tf.loops.search import Search

    search = SimpleNamespace(config=SimpleNamespace(dataset=dataset, benchmark_dataset=given))
    assert Search.benchmark_dataset(search) == looked_up
