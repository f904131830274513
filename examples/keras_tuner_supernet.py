"""ENAS with weight sharing through keras-tuner, against random search on the same weights.

Offline on scikit-learn's 8x8 digits. ``ENASSupernetTuner`` trains one shared micro
supernet across all trials: a trial is an architecture the ENAS controller proposes, a
few shared-weight SGD steps on it and its validation accuracy. The same tuner with
keras-tuner's ``RandomSearchOracle`` is the random baseline (same trials, steps, seed).
The best architecture of each is then trained from scratch (``FinalTraining``) and scored
on the test split, and the ENAS one is exported as a SavedModel for serving.

    python examples/keras_tuner_supernet.py            # ~5 minutes on 2 CPU cores
    python examples/keras_tuner_supernet.py --trials 3 --steps 2 --final_epochs 1  # smoke
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras_tuner  # noqa: E402

from enas_tf import FinalConfig, load_dataset  # noqa: E402
from enas_tf.loops.final import FinalTraining  # noqa: E402
from tuner import ENASSupernetTuner  # noqa: E402


def search(name, data, trials, steps, seed, directory, oracle=None):
    """One shared-weight search; returns the best architecture and its search score."""
    start = time.perf_counter()
    tuner = ENASSupernetTuner(data, max_trials=trials, steps_per_trial=steps, seed=seed,
                              oracle=oracle, directory=directory, project_name=name,
                              overwrite=True)
    tuner.search()
    best = tuner.oracle.get_best_trials(1)[0]
    return {"arc": tuner.architecture(best.hyperparameters), "search_val": best.score,
            "search_seconds": time.perf_counter() - start}


def train_from_scratch(arc, data, epochs, seed, output_dir, export):
    """The found cell in a 3-layer, 16-filter network (flags/quickstart_micro_final.cfg)."""
    config = FinalConfig(dataset="digits", num_valid=0, num_layers=3, num_nodes=5,
                         filters=16, aux_weight=0.0, cutout=3, batch_size=64,
                         num_epochs=epochs, lr_max=0.05, lr_min=1e-4, lr_t0=epochs,
                         eval_every=epochs, verbose=0, seed=seed, output_dir=output_dir,
                         restart=True, export_savedmodel=export)
    start = time.perf_counter()
    result = FinalTraining(config, arc, data).run()
    result["final_seconds"] = time.perf_counter() - start
    return result


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--steps", type=int, default=20, help="shared-weight steps per trial")
    parser.add_argument("--final_epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--directory", default="runs/keras_tuner")
    args = parser.parse_args(argv)

    search_data = load_dataset("digits")  # trials score on the validation split
    final_data = load_dataset("digits", num_valid=0)  # final training uses it all
    random_oracle = keras_tuner.oracles.RandomSearchOracle(max_trials=args.trials,
                                                           seed=args.seed)
    results = {}
    for name, oracle in (("ENAS", None), ("random", random_oracle)):
        found = search(f"supernet_{name.lower()}", search_data, args.trials, args.steps,
                       args.seed, args.directory, oracle)
        found.update(train_from_scratch(
            found["arc"], final_data, args.final_epochs, args.seed,
            os.path.join(args.directory, f"final_{name.lower()}"), export=name == "ENAS"))
        results[name] = found

    print(f"\nDigits, {args.trials} trials x {args.steps} shared-weight steps, seed "
          f"{args.seed}; best cell trained {args.final_epochs} epochs from scratch:")
    print(f"{'search':<8}{'search val':>11}{'test':>8}{'search':>9}{'final':>8}  cell")
    for name, r in results.items():
        print(f"{name:<8}{r['search_val']:>11.4f}{r['test_accuracy']:>8.4f}"
              f"{r['search_seconds']:>8.0f}s{r['final_seconds']:>7.0f}s  "
              f"{' '.join(map(str, r['arc']))}")
    print(f"ENAS model: {results['ENAS']['model_file']}; "
          f"SavedModel: {results['ENAS']['savedmodel']}")
    return results


if __name__ == "__main__":
    main()
