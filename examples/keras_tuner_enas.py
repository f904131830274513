"""ENAS through keras-tuner, offline on scikit-learn's digits.

1. ENASSupernetTuner: the ENAS controller proposes micro architectures as keras-tuner
   trials, and each trial trains one shared supernet for a few steps.
2. ENASOracle with your own hypermodel: ENAS's policy over your hp.Choice space, each trial
   a plain model.fit (no weight sharing).

    python examples/keras_tuner_enas.py
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import keras_tuner  # noqa: E402

from enas_tf import load_dataset  # noqa: E402
from tuner import ENASOracle, ENASSupernetTuner  # noqa: E402


def supernet_search(data):
    tuner = ENASSupernetTuner(data, max_trials=20, steps_per_trial=20, final_num_layers=3,
                              final_filters=16, directory="runs/keras_tuner",
                              project_name="supernet", overwrite=True)
    tuner.search()
    tuner.results_summary(3)
    best = tuner.get_best_models(1)[0]  # the final network of the best architecture
    best.summary()
    return best


def build(hp):
    """An ordinary hypermodel; ENASOracle samples its hp.Choice values."""
    model = keras.Sequential([keras.Input((8, 8, 1))])
    for i in range(hp.Choice("conv_layers", [1, 2])):
        model.add(keras.layers.Conv2D(hp.Choice(f"filters_{i}", [8, 16, 32]),
                                      hp.Choice(f"kernel_{i}", [3, 5]), padding="same",
                                      activation="relu"))
    model.add(keras.layers.GlobalAveragePooling2D())
    model.add(keras.layers.Dense(10, activation="softmax"))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def plain_search(data):
    (x, y), (vx, vy) = data.train, data.valid
    oracle = ENASOracle(objective="val_accuracy", max_trials=8, learning_rate=0.01, seed=0)
    tuner = keras_tuner.Tuner(oracle=oracle, hypermodel=build, directory="runs/keras_tuner",
                              project_name="plain", overwrite=True)
    tuner.search(x / 255.0, y, validation_data=(vx / 255.0, vy), epochs=3, verbose=0)
    tuner.results_summary(3)
    return tuner.get_best_models(1)[0]


if __name__ == "__main__":
    digits = load_dataset("digits")
    supernet_search(digits)
    plain_search(digits)
