"""ENASOracle vs keras-tuner's RandomSearch on a synthetic objective, in one run.

The space has ``num_decisions`` choices of ``num_choices`` values each. The score of an
architecture is the share of decisions at their best value (0), so exactly one
architecture scores 1.0. For each seed, the ENAS oracle runs until its probability of
proposing the best architecture exceeds 0.5, or until ``--max_budget`` trials. Its budget
is the trials that took. RandomSearch then gets the same budget, and the script reports
whether, and at which trial, it first tried the best architecture.

    python benchmarks/oracle_vs_random.py [--num_decisions=4 --num_choices=4 --seeds=5]
"""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras_tuner  # noqa: E402
import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

from tuner import ENASOracle  # noqa: E402
from enas_tf.training.platform import describe_platform  # noqa: E402

flags.DEFINE_integer("num_decisions", 4, "Decisions in the synthetic space.")
flags.DEFINE_integer("num_choices", 4, "Values per decision.")
flags.DEFINE_integer("seeds", 5, "Repetitions with different seeds.")
flags.DEFINE_integer("max_budget", 400, "Most trials the ENAS oracle may use.")
flags.DEFINE_float("learning_rate", 0.01, "Controller learning rate.")
FLAGS = flags.FLAGS


def _space() -> keras_tuner.HyperParameters:
    hp = keras_tuner.HyperParameters()
    for i in range(FLAGS.num_decisions):
        hp.Choice(f"x{i}", list(range(FLAGS.num_choices)))
    return hp


def _score(values) -> float:
    return sum(v == 0 for v in values.values()) / len(values)


def _run(oracle, budget, on_trial=None) -> int | None:
    """Runs up to ``budget`` trials; returns the 1-based trial that first scored 1.0."""
    oracle._set_project_dir(tempfile.mkdtemp(), "bench")
    oracle.verbose = 0
    first_best = None
    for k in range(budget):
        trial = oracle.create_trial("tuner0")
        if trial.status != "RUNNING":
            break
        score = _score(trial.hyperparameters.values)
        if score == 1.0 and first_best is None:
            first_best = k + 1
        oracle.update_trial(trial.trial_id, {"score": score})
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
        if on_trial and on_trial(k + 1):
            break
    return first_best


def main(argv):
    del argv
    print(f"machine: {describe_platform()}", flush=True)
    best = {f"x{i}": 0 for i in range(FLAGS.num_decisions)}
    size = FLAGS.num_choices ** FLAGS.num_decisions
    print(f"space: {FLAGS.num_decisions} decisions x {FLAGS.num_choices} values = {size} "
          f"architectures; one scores 1.0")
    objective = keras_tuner.Objective("score", "max")
    rows = []
    for seed in range(1, FLAGS.seeds + 1):
        enas = ENASOracle(objective=objective, max_trials=FLAGS.max_budget,
                          hyperparameters=_space(), learning_rate=FLAGS.learning_rate,
                          seed=seed)
        reached = {}

        def check(trials):
            if enas.best_probability(best) > 0.5:
                reached["trials"] = trials
                return True
            return False

        enas_first = _run(enas, FLAGS.max_budget, check)
        budget = reached.get("trials", FLAGS.max_budget)
        random = keras_tuner.oracles.RandomSearchOracle(
            objective=objective, max_trials=budget, hyperparameters=_space(), seed=seed)
        random_first = _run(random, budget)
        rows.append((seed, reached.get("trials"), enas_first, budget, random_first))
        print(f"seed {seed}: ENAS p(best) > 0.5 after {reached.get('trials', 'no')} trials "
              f"(first tried the best at trial {enas_first}); RandomSearch with {budget} "
              f"trials first tried the best at trial {random_first}", flush=True)
    hits = [r[1] for r in rows if r[1] is not None]
    random_found = sum(r[4] is not None for r in rows)
    print(f"ENAS: p(best) > 0.5 in {len(hits)}/{len(rows)} seeds, median "
          f"{np.median(hits) if hits else float('nan'):.0f} trials")
    print(f"RandomSearch, same budgets: tried the best architecture in {random_found}/"
          f"{len(rows)} seeds (chance per seed {np.mean([min(1, r[3] / size) for r in rows]):.2f})")


if __name__ == "__main__":
    app.run(main)
