"""Search your own arrays, then retrain what was found: a notebook's worth of enas-tf.

The data are plain numpy arrays, as a Keras user has them: scikit-learn's handwritten
digits (offline, shipped with the package) resized to 16x16 floats. No data set name,
no files: ``ImageSplits.from_arrays`` infers the image shape and the classes, holds out
the last 20% as the validation split the search scores architectures on, and computes
the normalisation from the training split. DARTS searches its cell space on them; the
derived genotype is retrained from scratch as a plain Keras model and reported on the
test arrays, next to a random genotype retrained with the same budget: for DARTS the
shared-weight scores of single genotypes do not rank them (its discretisation gap), so
retraining is the fair comparison.

    python examples/search_your_own_data.py                      # ~10 minutes on 2 cores
    python examples/search_your_own_data.py --search_epochs 1 --final_epochs 1  # smoke run
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from enas_tf import FinalConfig, ImageSplits, Search, SearchConfig  # noqa: E402
from enas_tf.loops import make_final_training  # noqa: E402


def users_arrays(size: int = 16):
    """Digits as float arrays [N, size, size] in [0, 16] and integer labels, split into
    1,497 examples to search/train on and 300 to test on."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    order = np.random.default_rng(0).permutation(len(digits.images))
    images = tf.image.resize(digits.images[order][..., None], [size, size]).numpy()[..., 0]
    labels = digits.target[order]
    return (images[300:], labels[300:]), (images[:300], labels[:300])


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--search_epochs", type=int, default=10)
    parser.add_argument("--final_epochs", type=int, default=15)
    parser.add_argument("--directory", default="runs/own_data")
    args = parser.parse_args(argv)
    began = time.time()

    (x_train, y_train), (x_test, y_test) = users_arrays()
    splits = ImageSplits.from_arrays(x_train, y_train, validation_split=0.2,
                                     test=(x_test, y_test), flip=False)
    print(f"your data: {splits.num_examples('train')} train / {splits.num_examples('valid')} "
          f"valid / {splits.num_examples('test')} test images of {splits.image_shape}, "
          f"{splits.num_classes} classes")

    search = Search(SearchConfig.for_space(
        "darts", strategy="darts", num_layers=5, filters=8, batch_size=32,
        num_epochs=args.search_epochs, lr_t0=args.search_epochs, derive_random_samples=10,
        verbose=0, output_dir=os.path.join(args.directory, "search"), restart=True), splits)
    found = search.run()
    random_mean = found["random_architectures"]["valid_accuracy_mean"]
    print(f"derived genotype: {search.search_space.notation(found['arc'])}")
    print(f"shared-weight validation accuracy: derived {found['valid_accuracy']:.4f}, random "
          f"genotypes {random_mean:.4f} (mean of 10; for DARTS not a ranking)")

    random_arc = search.search_space.random_architecture(np.random.default_rng(1))
    results = {}
    for label, arc in (("found", found["arc"]), ("random", random_arc)):
        final = FinalConfig.for_space(
            "darts", num_layers=5, filters=16, batch_size=64, num_epochs=args.final_epochs,
            lr_t0=args.final_epochs, aux_weight=0.0, cutout=4, drop_path_keep_prob=0.9,
            verbose=0, output_dir=os.path.join(args.directory, f"final_{label}"),
            restart=True)
        results[label] = make_final_training(final, arc, splits).run()
        print(f"{label} genotype retrained from scratch: test accuracy "
              f"{results[label]['test_accuracy']:.4f} ({results[label]['parameters']:,} "
              f"parameters), model in {results[label]['model_file']}")
    seconds = time.time() - began
    print(f"wall time: {seconds:.0f} s")
    return {"valid_accuracy": found["valid_accuracy"], "random_mean": random_mean,
            "test_accuracy": results["found"]["test_accuracy"],
            "random_test_accuracy": results["random"]["test_accuracy"], "seconds": seconds,
            "genotype": search.search_space.notation(found["arc"])}


if __name__ == "__main__":
    main()
