"""One process of the distributed-tuning test: the chief oracle or a worker.

keras-tuner reads its role from ``KERASTUNER_TUNER_ID`` ("chief" or a worker name),
``KERASTUNER_ORACLE_IP`` and ``KERASTUNER_ORACLE_PORT``. Workers run trials of a
synthetic objective (the share of decisions at choice 0) and report them to the chief,
whose ``ENASOracle`` learns from all of them.

    python tests/distributed_tuning.py DIRECTORY MAX_TRIALS
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras_tuner  # noqa: E402

from tuner import ENASOracle  # noqa: E402

NUM_DECISIONS = 4


def synthetic_score(values) -> float:
    """One best choice per decision (0); the score is the share of decisions at it."""
    return sum(v == 0 for v in values.values()) / len(values)


class SyntheticTuner(keras_tuner.Tuner):
    """Scores each trial with ``synthetic_score``; trains nothing."""

    def run_trial(self, trial, *args, **kwargs):
        print(f"ran trial {trial.trial_id}", flush=True)
        return {"score": synthetic_score(trial.hyperparameters.values)}


def declare(hp):
    for i in range(NUM_DECISIONS):
        hp.Choice(f"x{i}", [0, 1, 2, 3])


if __name__ == "__main__":
    directory, max_trials = sys.argv[1], int(sys.argv[2])
    oracle = ENASOracle(objective=keras_tuner.Objective("score", "max"), max_trials=max_trials,
                        learning_rate=0.01, seed=1)
    tuner = SyntheticTuner(oracle=oracle, hypermodel=declare, directory=directory,
                           project_name="distributed")
    tuner.search(verbose=0)
    print("done", flush=True)
