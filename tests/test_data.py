import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from conftest import make_splits
from enas_tf.data import DataNotFoundError, PipelineOptions, load_cifar10, load_dataset


def test_cifar10_loads_through_tfds(tmp_path):
    # TFDS' mock serves CIFAR-10-shaped examples through the real tfds.load path.
    with tfds.testing.mock_data(num_examples=60, policy=tfds.testing.MockPolicy.USE_CODE):
        splits = load_cifar10(data_dir=str(tmp_path), num_valid=10, download=False)
    assert splits.image_shape == (32, 32, 3) and splits.num_classes == 10
    assert (len(splits.train[0]), len(splits.valid[0]), len(splits.test[0])) == (50, 10, 60)
    assert splits.train[0].dtype == np.uint8 and splits.pad == 4
    images, labels = next(iter(splits.dataset("train", 16, shuffle_seed=0, augment=True,
                                              drop_remainder=True)))
    assert images.shape == (16, 32, 32, 3) and labels.shape == (16,)
    # Per-channel normalisation with training-split statistics.
    everything = next(iter(splits.dataset("train", 50)))[0].numpy()
    np.testing.assert_allclose(everything.mean(axis=(0, 1, 2)), 0.0, atol=1e-4)
    np.testing.assert_allclose(everything.std(axis=(0, 1, 2)), 1.0, atol=1e-3)


def test_cifar10_validation_split_is_the_tail_of_the_training_files(tmp_path):
    """TFDS stores CIFAR-10 out of file order but names each image train_<position>; the
    validation split is the last positions (official: the end of data_batch_5)."""
    order = np.random.default_rng(0).permutation(40)  # how TFDS happens to store them

    def as_dataset(self, split, *args, **kwargs):
        prefix = "test" if "test" in str(split) else "train"
        return tf.data.Dataset.from_tensor_slices({
            "id": [f"{prefix}_{i:05d}" for i in order],
            # Image i is filled with i, so the split's images say their positions.
            "image": np.stack([np.full((32, 32, 3), i, np.uint8) for i in order]),
            "label": (order % 10).astype(np.int64)})

    with tfds.testing.mock_data(as_dataset_fn=as_dataset):
        splits = load_cifar10(data_dir=str(tmp_path), num_valid=8, download=False)
    assert [int(x[0, 0, 0]) for x in splits.valid[0]] == list(range(32, 40))
    assert [int(x[0, 0, 0]) for x in splits.train[0]] == list(range(32))
    np.testing.assert_array_equal(splits.valid[1], np.arange(32, 40) % 10)
    assert [int(x[0, 0, 0]) for x in splits.test[0]] == list(range(40))


def test_missing_cifar10_is_a_clear_error(tmp_path):
    with pytest.raises(DataNotFoundError, match="does not exist"):
        load_cifar10(data_dir=str(tmp_path / "nope"), download=False)
    with pytest.raises(DataNotFoundError, match=r"(?s)CIFAR-10 is not prepared in .*tfds build cifar10"):
        load_cifar10(data_dir=str(tmp_path), download=False)


def test_digits_quick_start_data_is_offline_and_split():
    splits = load_dataset("digits", num_valid=300)
    assert splits.image_shape == (8, 8, 1)
    assert (len(splits.train[0]), len(splits.valid[0]), len(splits.test[0])) == (1197, 300, 300)
    assert set(np.unique(splits.train[1])) == set(range(10))
    with pytest.raises(ValueError, match="unknown dataset 'mnist'"):
        load_dataset("mnist")


def test_augmentation_is_deterministic_per_seed_and_crops_shift():
    splits = make_splits(num_train=32)
    batch = lambda seed: next(iter(splits.dataset("train", 32, shuffle_seed=seed, augment=True)))
    (a, la), (b, lb), (c, _) = batch(1), batch(1), batch(2)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(la.numpy(), lb.numpy())
    assert not np.array_equal(a.numpy(), c.numpy())
    plain = next(iter(splits.dataset("train", 32)))[0].numpy()
    assert not np.allclose(np.sort(plain.ravel()), np.sort(a.numpy().ravel()))  # pads/crops


def test_digits_are_never_mirrored():
    digits = load_dataset("digits")
    assert digits.flip is False and digits.pad == 1
    image = tf.constant(digits.train[0][0], tf.float32)
    for seed in range(20):
        out = digits._augment(image, tf.constant([seed, seed + 1]))
        # With pad 1, every crop is a shift of at most one pixel; a flip would mirror the
        # digit, which no one-pixel shift can reproduce for an asymmetric image.
        shifts = [tf.roll(tf.pad(image, [[1, 1], [1, 1], [0, 0]]), (dy, dx), (0, 1))[1:-1, 1:-1]
                  for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
        assert any(np.array_equal(out.numpy(), s.numpy()) for s in shifts), seed


def test_pipeline_options_reach_tf_data_and_share_the_arrays():
    splits = make_splits()
    tuned = splits.with_pipeline(PipelineOptions(parallel_calls=2, prefetch=3, threads=2))
    assert tuned.train[0] is splits.train[0]  # same arrays, no copy
    assert splits.pipeline == PipelineOptions()  # the original is unchanged
    dataset = tuned.dataset("train", 8, shuffle_seed=0, augment=True)
    assert dataset.options().threading.private_threadpool_size == 2
    assert (dataset.options().experimental_distribute.auto_shard_policy
            == tf.data.experimental.AutoShardPolicy.DATA)
    # Same examples in the same order whatever the parallelism.
    for (a, b), (c, d) in zip(dataset, splits.dataset("train", 8, shuffle_seed=0, augment=True)):
        np.testing.assert_array_equal(a.numpy(), c.numpy())
        np.testing.assert_array_equal(b.numpy(), d.numpy())
