"""The one-line ENAS tuner on your own hypermodel, against keras-tuner's RandomSearch.

Offline on scikit-learn's 8x8 digits. Both tuners get the same hypermodel, budget
(trials x epochs) and seed; each trial is an ordinary ``model.fit``. The ENAS controller
learns from every trial's validation accuracy which choices to sample more; random search
samples uniformly. The best model of each is scored on the held-out test split.

    python examples/keras_tuner_enas.py                 # 16 trials each, ~3 minutes
    python examples/keras_tuner_enas.py --trials 4 --epochs 3 --seeds 1   # a smoke run
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import keras_tuner  # noqa: E402
import numpy as np  # noqa: E402

from enas_tf import load_dataset  # noqa: E402
import tuner  # noqa: E402


def build(hp: keras_tuner.HyperParameters) -> keras.Model:
    """A small image classifier; every ``hp.Choice`` is one decision the tuner makes."""
    model = keras.Sequential([keras.Input((8, 8, 1))])
    for i in range(hp.Choice("conv_layers", [0, 1, 2])):
        model.add(keras.layers.Conv2D(hp.Choice(f"filters_{i}", [16, 32]), 3, padding="same",
                                      activation="relu"))
    # Global average pooling throws away where a stroke is: a poor choice on digits,
    # which a search should learn to avoid.
    if hp.Choice("pooling", ["flatten", "global_average"]) == "flatten":
        model.add(keras.layers.Flatten())
    else:
        model.add(keras.layers.GlobalAveragePooling2D())
    model.add(keras.layers.Dense(hp.Choice("units", [32, 128]), activation="relu"))
    model.add(keras.layers.Dropout(hp.Choice("dropout", [0.0, 0.3])))
    model.add(keras.layers.Dense(10, activation="softmax"))
    model.compile(optimizer=keras.optimizers.Adam(hp.Choice("learning_rate", [3e-4, 3e-3])),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def run(name: str, make_tuner, data, epochs: int) -> dict:
    """Runs one tuner; returns its best validation and test accuracy and its wall time."""
    (x, y), (vx, vy), (tx, ty) = [(images / 255.0, labels) for images, labels in (
        data.train, data.valid, data.test)]
    start = time.perf_counter()
    search = make_tuner()
    search.search(x, y, validation_data=(vx, vy), epochs=epochs, batch_size=32, verbose=0)
    seconds = time.perf_counter() - start
    trials = search.oracle.get_best_trials(len(search.oracle.trials))
    scores = [t.score for t in trials if t.score is not None]
    best = search.get_best_models(1)[0]
    _, test_accuracy = best.evaluate(tx, ty, verbose=0)
    return {"tuner": name, "best_val": max(scores), "mean_val": float(np.mean(scores)),
            "test": float(test_accuracy), "seconds": seconds,
            "best_hp": trials[0].hyperparameters.values}


def compare(trials: int = 16, epochs: int = 15, seeds=(1,),
            directory: str = "runs/keras_tuner") -> list[dict]:
    """ENAS and RandomSearch on the same hypermodel, budget and seeds (keras-tuner reads
    seed 0 as "unseeded", so seeds start at 1)."""
    data = load_dataset("digits")
    results = []
    for seed in seeds:
        common = dict(hypermodel=build, objective="val_accuracy", max_trials=trials,
                      seed=seed, directory=directory, overwrite=True)
        results.append(run("ENAS", lambda: tuner.ENAS(
            learning_rate=0.05, project_name=f"enas_{seed}", **common), data, epochs))
        results.append(run("RandomSearch", lambda: keras_tuner.RandomSearch(
            project_name=f"random_{seed}", **common), data, epochs))
        for result in results[-2:]:
            result["seed"] = seed
    return results


def report(results: list[dict], trials: int, epochs: int) -> None:
    print(f"\nDigits, {trials} trials x {epochs} epochs per tuner, same seed(s):")
    print(f"{'tuner':<13}{'seed':>5}{'best val':>10}{'mean val':>10}{'test':>8}{'time':>8}")
    for r in results:
        print(f"{r['tuner']:<13}{r['seed']:>5}{r['best_val']:>10.4f}{r['mean_val']:>10.4f}"
              f"{r['test']:>8.4f}{r['seconds']:>7.0f}s")
    for name in ("ENAS", "RandomSearch"):
        mine = [r for r in results if r["tuner"] == name]
        print(f"{name}: best test accuracy {np.mean([r['test'] for r in mine]):.4f} "
              f"(mean over seeds); best hyperparameters of seed {mine[0]['seed']}: "
              f"{mine[0]['best_hp']}")


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--directory", default="runs/keras_tuner")
    args = parser.parse_args(argv)
    results = compare(args.trials, args.epochs, args.seeds, args.directory)
    report(results, args.trials, args.epochs)
    return results


if __name__ == "__main__":
    main()
