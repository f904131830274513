"""keras-tuner integration: ENASOracle proposals, learning, state, resume, tuners, gRPC."""

import json
import os
import subprocess
import sys

import keras
import keras_tuner
import numpy as np
import pytest

from conftest import free_port, make_splits
from distributed_tuning import SyntheticTuner, declare, synthetic_score
from enas_tf.search_spaces.darts import DartsSearchSpace
from enas_tf.search_spaces.micro import MicroSearchSpace
from tuner import ENAS, ENASOracle, ENASSupernetTuner

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCORE = keras_tuner.Objective("score", "max")


def _choice_space(num=4, choices=4):
    hp = keras_tuner.HyperParameters()
    for i in range(num):
        hp.Choice(f"x{i}", list(range(choices)))
    return hp


BEST = {f"x{i}": 0 for i in range(4)}


def _run_trials(oracle, count, objective=synthetic_score):
    for _ in range(count):
        trial = oracle.create_trial("tuner0")
        oracle.update_trial(trial.trial_id, {"score": objective(trial.hyperparameters.values)})
        trial.status = "COMPLETED"
        oracle.end_trial(trial)


def _oracle(tmp_path, name="p", **kwargs):
    values = dict(objective=SCORE, max_trials=200, hyperparameters=_choice_space(),
                  learning_rate=0.01, seed=1)
    values.update(kwargs)
    oracle = ENASOracle(**values)
    oracle._set_project_dir(str(tmp_path), name)
    oracle.verbose = 0
    return oracle


def test_micro_space_proposals_are_valid_architectures_with_readable_names(tmp_path):
    space = MicroSearchSpace(5)
    oracle = ENASOracle(objective=SCORE, max_trials=30, search_space=space, seed=3)
    oracle._set_project_dir(str(tmp_path), "p")
    names = [hp.name for hp in oracle.get_space().space]
    assert names == [d.name for d in space.decisions]
    assert names[:2] == ["normal/node2/input1", "normal/node2/op1"]
    seen = set()
    for _ in range(30):
        trial = oracle.create_trial("tuner0")
        values = trial.hyperparameters.values
        assert values["normal/node2/op1"] in space.ops
        arc = oracle.choices.from_values(values)
        assert space.validate(arc) == arc
        seen.add(arc)
        trial.status = "COMPLETED"
        oracle.update_trial(trial.trial_id, {"score": 0.5})
        oracle.end_trial(trial)
    assert len(seen) > 20  # a stochastic policy, not one fixed proposal


def test_darts_space_proposals_are_genotypes_under_the_generic_controller(tmp_path):
    """The DARTS space has no ENAS controller of its own; the oracle samples its
    decisions with the generic one, and every proposal is a valid genotype."""
    space = DartsSearchSpace()
    oracle = ENASOracle(objective=SCORE, max_trials=5, search_space=space, seed=3)
    oracle._set_project_dir(str(tmp_path), "p")
    for _ in range(5):
        trial = oracle.create_trial("tuner0")
        values = trial.hyperparameters.values
        assert values["normal/node2/op1"] in space.ops and "none" not in values.values()
        arc = oracle.choices.from_values(values)
        assert space.from_string(space.to_genotype(arc)) == arc
        trial.status = "COMPLETED"
        oracle.update_trial(trial.trial_id, {"score": 0.5})
        oracle.end_trial(trial)


def test_macro_space_runs_under_its_own_controller_and_learns(tmp_path):
    from enas_tf.controllers.macro_controller import MacroController
    from enas_tf.search_spaces.macro import MacroSearchSpace, layer_start

    space = MacroSearchSpace(4)
    oracle = ENASOracle(objective=SCORE, max_trials=80, search_space=space, seed=3,
                        learning_rate=0.05)
    oracle._set_project_dir(str(tmp_path), "p")
    ops = [f"layer{i}/op" for i in range(4)]

    def conv3_share():  # of the op decisions, under the policy
        return float(np.mean([oracle.controller.probabilities(arc)[layer_start(i)][0]
                              for i in range(4) for arc in [space.random_architecture(
                                  np.random.default_rng(i))]]))

    before = None
    for step in range(80):
        trial = oracle.create_trial("tuner0")
        if before is None:
            assert isinstance(oracle.controller, MacroController)
            assert oracle.controller.tanh_constant == 1.5  # the official macro constant
            before = conv3_share()
        values = trial.hyperparameters.values
        arc = oracle.choices.from_values(values)
        assert space.validate(arc) == arc
        oracle.update_trial(trial.trial_id,
                            {"score": float(np.mean([values[op] == "conv_3x3" for op in ops]))})
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
    assert conv3_share() > before + 0.1


def test_probability_of_the_best_architecture_rises_on_a_synthetic_objective(tmp_path):
    oracle = _oracle(tmp_path)
    start = oracle.best_probability(BEST)
    assert start == pytest.approx(1 / 256, rel=0.1)  # uniform at initialisation
    _run_trials(oracle, 120)
    assert oracle.updates == 120
    assert oracle.best_probability(BEST) > 0.3 > 50 * start


def test_min_objectives_are_rewarded_by_their_negation(tmp_path):
    oracle = _oracle(tmp_path, objective=keras_tuner.Objective("score", "min"))
    _run_trials(oracle, 120, objective=lambda values: 1.0 - synthetic_score(values))
    assert oracle.best_probability(BEST) > 0.3


def test_state_round_trip_restores_the_policy(tmp_path):
    oracle = _oracle(tmp_path, num_aggregate=3)
    _run_trials(oracle, 7)  # two updates and one pending trial
    state = json.loads(json.dumps(oracle.get_state()))
    copy = _oracle(tmp_path, name="copy")
    for trial_id, trial in oracle.trials.items():
        copy.trials[trial_id] = trial
    copy.set_state(state)
    assert copy.updates == 2 and len(copy.pending) == 1
    assert float(copy.reinforce.baseline) == pytest.approx(float(oracle.reinforce.baseline))
    for a, b in zip(oracle.controller.trainable_variables, copy.controller.trainable_variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    for a, b in zip(oracle.reinforce.optimizer.variables, copy.reinforce.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(a.numpy()), np.asarray(b.numpy()))
    # Same RNG state: the next proposals agree.
    assert [oracle.populate_space(str(i))["values"] for i in range(3)] == [
        copy.populate_space(str(i))["values"] for i in range(3)]


def test_overwrite_false_resumes_the_search(tmp_path):
    def make(max_trials):
        oracle = ENASOracle(objective=SCORE, max_trials=max_trials, learning_rate=0.01, seed=1)
        return SyntheticTuner(oracle=oracle, hypermodel=declare, directory=str(tmp_path),
                              project_name="resume", overwrite=False)

    first = make(10)
    first.search(verbose=0)
    weights = [v.numpy() for v in first.oracle.controller.trainable_variables]
    second = make(25)
    assert second.oracle.updates == 10
    for a, b in zip(weights, second.oracle.controller.trainable_variables):
        np.testing.assert_array_equal(a, b.numpy())
    second.search(verbose=0)
    assert len(second.oracle.trials) == 25 and second.oracle.updates == 25


@pytest.mark.slow
def test_plain_path_drives_an_ordinary_hypermodel_with_fit(tmp_path):
    x = np.random.default_rng(0).normal(size=(64, 6)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int32)

    def build(hp):
        model = keras.Sequential([
            keras.Input((6,)),
            keras.layers.Dense(hp.Choice("units", [4, 16]), activation=hp.Choice(
                "activation", ["relu", "tanh"])),
            keras.layers.Dense(2, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        return model

    oracle = ENASOracle(objective="val_accuracy", max_trials=3, seed=2)
    tuner = keras_tuner.Tuner(oracle=oracle, hypermodel=build, directory=str(tmp_path),
                              project_name="plain")
    tuner.search(x, y, validation_split=0.25, epochs=2, verbose=0)
    assert len(oracle.trials) == 3 and oracle.updates == 3
    best = tuner.get_best_hyperparameters()[0].values
    assert best["units"] in (4, 16) and best["activation"] in ("relu", "tanh")
    model = tuner.get_best_models(1)[0]
    assert model.predict(x[:2], verbose=0).shape == (2, 2)
    tuner.results_summary(1)


def test_unsupported_hyperparameters_are_named(tmp_path):
    hp = keras_tuner.HyperParameters()
    hp.Int("units", 1, 8)
    oracle = ENASOracle(objective=SCORE, max_trials=2, hyperparameters=hp)
    oracle._set_project_dir(str(tmp_path), "p")
    with pytest.raises(ValueError, match="'units' is Int"):
        oracle.create_trial("tuner0")


def test_fixed_hyperparameters_keep_their_value_and_are_not_decisions(tmp_path):
    hp = _choice_space(num=2)
    hp.Fixed("width", 7)
    oracle = ENASOracle(objective=SCORE, max_trials=2, hyperparameters=hp, seed=1)
    oracle._set_project_dir(str(tmp_path), "p")
    values = oracle.create_trial("tuner0").hyperparameters.values
    assert values["width"] == 7 and set(values) == {"x0", "x1", "width"}
    assert [name for name, _ in oracle.choices.values.items()] == ["x0", "x1"]


def test_supernet_tuner_shares_weights_and_returns_final_models(tmp_path):
    data = make_splits(num_train=64, num_valid=32)
    tuner = ENASSupernetTuner(data, max_trials=3, num_nodes=2, filters=4, batch_size=16,
                              steps_per_trial=2, final_num_layers=1, final_filters=4,
                              directory=str(tmp_path), project_name="supernet")
    before = [v.numpy().copy() for v in tuner.supernet.trainable_variables]
    tuner.search()
    assert tuner.steps.trace_count == 1  # every trial reuses the one traced step
    assert int(tuner.sgd.iterations) == 6
    assert any(not np.allclose(a, b.numpy())
               for a, b in zip(before, tuner.supernet.trainable_variables))
    trial = tuner.oracle.get_best_trials(1)[0]
    assert 0.0 <= trial.score <= 1.0
    model = tuner.get_best_models(1)[0]
    assert type(model).__name__ == "FinalMicroNetwork"
    assert model.arc == tuner.architecture(trial.hyperparameters)
    # Resuming restores the shared weights as well as the oracle.
    resumed = ENASSupernetTuner(data, max_trials=4, num_nodes=2, filters=4, batch_size=16,
                                steps_per_trial=2, final_num_layers=1, final_filters=4,
                                directory=str(tmp_path), project_name="supernet")
    assert int(resumed.sgd.iterations) == 6
    for a, b in zip(tuner.supernet.trainable_variables, resumed.supernet.trainable_variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_distributed_tuning_with_a_chief_and_two_workers(tmp_path):
    port, max_trials = free_port(), 12
    script = os.path.join(ROOT, "tests", "distributed_tuning.py")

    def start(tuner_id):
        env = dict(os.environ, KERASTUNER_TUNER_ID=tuner_id, KERASTUNER_ORACLE_IP="127.0.0.1",
                   KERASTUNER_ORACLE_PORT=str(port), CUDA_VISIBLE_DEVICES="")
        return subprocess.Popen([sys.executable, script, str(tmp_path), str(max_trials)],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)

    chief = start("chief")
    workers = [start("tuner0"), start("tuner1")]
    outputs = [w.communicate(timeout=600)[0] for w in workers]
    chief_output = chief.communicate(timeout=600)[0]
    for process, output in zip(workers + [chief], outputs + [chief_output]):
        assert process.returncode == 0, output[-3000:]
    ran = [output.count("ran trial") for output in outputs]
    assert sum(ran) == max_trials and min(ran) >= 1, ran  # both workers did trials
    with open(tmp_path / "distributed" / "oracle.json") as f:
        state = json.load(f)
    # The chief's controller took one update per completed trial, from both workers.
    assert state["enas"]["updates"] == max_trials
    assert len(state["end_order"]) == max_trials


# --- the one-line tuner ------------------------------------------------------------------


def _tiny_classification(seed=0):
    x = np.random.default_rng(seed).normal(size=(64, 6)).astype(np.float32)
    return x, (x[:, 0] > 0).astype(np.int32)


def _build_tiny(hp):
    model = keras.Sequential([
        keras.Input((6,)),
        keras.layers.Dense(hp.Choice("units", [4, 16]),
                           activation=hp.Choice("activation", ["relu", "tanh"])),
        keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def test_enas_tuner_takes_random_search_arguments_and_learns_from_fit(tmp_path):
    x, y = _tiny_classification()
    search = ENAS(_build_tiny, objective="val_accuracy", max_trials=4, seed=3,
                  learning_rate=0.02, directory=str(tmp_path), project_name="one_line",
                  overwrite=True, executions_per_trial=1)
    assert isinstance(search.oracle, ENASOracle) and search.oracle.max_trials == 4
    assert search.project_dir == os.path.join(str(tmp_path), "one_line")
    search.search(x, y, validation_split=0.25, epochs=1, verbose=0)
    assert len(search.oracle.trials) == 4 and search.oracle.updates == 4
    assert search.oracle.reinforce.optimizer.learning_rate.numpy() == pytest.approx(0.02)
    assert search.get_best_models(1)[0].predict(x[:3], verbose=0).shape == (3, 2)
    assert os.path.exists(tmp_path / "one_line" / "oracle.json")
    # overwrite=False resumes: the finished trials and the policy come back.
    resumed = ENAS(_build_tiny, objective="val_accuracy", max_trials=4, seed=3,
                   directory=str(tmp_path), project_name="one_line")
    assert len(resumed.oracle.trials) == 4 and resumed.oracle.updates == 4


MIRRORED_TUNING = """
import sys
import numpy as np
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
from tuner import ENAS

def build(hp):
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(
        hp.Choice("units", [4, 16]), activation="relu"), keras.layers.Dense(2)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model

x = np.random.default_rng(0).normal(size=(64, 6)).astype(np.float32)
y = (x[:, 0] > 0).astype(np.int32)
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
search = ENAS(build, objective="val_accuracy", max_trials=2, seed=1,
              distribution_strategy=strategy, directory=sys.argv[1], project_name="mirrored")
search.search(x, y, validation_split=0.25, epochs=1, batch_size=16, verbose=0)
model = search.get_best_models(1)[0]
print("updates", search.oracle.updates, "replicas",
      model.distribute_strategy.num_replicas_in_sync)
"""


def test_enas_tuner_fits_each_trial_under_a_distribution_strategy(tmp_path):
    """Two-replica trials, in a fresh interpreter. Inside the long test process, after other
    tests' MirroredStrategy runs, every trial's Adam all-reduce failed with "Shape mismatch in
    the collective instance 100" (TensorFlow's tensorflow/tensorflow#62790: models trained one
    after another under MirroredStrategy in one process); the README warns users."""
    process = subprocess.run([sys.executable, "-c", MIRRORED_TUNING, str(tmp_path)],
                             env=dict(os.environ, PYTHONPATH=ROOT), capture_output=True,
                             text=True, timeout=300)
    assert process.returncode == 0, process.stderr[-3000:]
    assert process.stdout.strip().splitlines()[-1] == "updates 2 replicas 2"


def test_enas_tuner_seeds_reproduce_proposals_even_seed_zero(tmp_path):
    """keras-tuner's own oracles read seed=0 as "unseeded"; ENAS keeps it a seed."""
    def proposals(seed, name):
        search = ENAS(_build_tiny, objective="val_accuracy", max_trials=6, seed=seed,
                      directory=str(tmp_path), project_name=name)
        _build_tiny(search.oracle.hyperparameters)  # declares the space, as search() does
        return [search.oracle.create_trial(f"t{i}").hyperparameters.values for i in range(6)]

    assert proposals(0, "a") == proposals(0, "b")
    assert proposals(0, "c") != proposals(5, "d")


def test_enas_tuner_over_an_enas_space_fixes_the_space(tmp_path):
    space = MicroSearchSpace(2)
    search = ENAS(lambda hp: None, objective=SCORE, max_trials=2, search_space=space, seed=1,
                  directory=str(tmp_path), project_name="space")
    assert not search.oracle.allow_new_entries and not search.oracle.tune_new_entries
    trial = search.oracle.create_trial("t0")
    assert space.validate(search.oracle.choices.from_values(trial.hyperparameters.values))


@pytest.mark.parametrize("objective, validation, reported", [
    ("val_acc", True, "loss, accuracy, val_loss, val_accuracy"),
    ("val_accuracy", False, "loss, accuracy"),
])
def test_an_objective_the_model_does_not_report_fails_once_before_any_trial(
        tmp_path, objective, validation, reported):
    x, y = _tiny_classification()
    search = ENAS(_build_tiny, objective=objective, max_trials=3, seed=3,
                  directory=str(tmp_path), project_name="wrong_objective", overwrite=True)
    fit = dict(validation_split=0.25) if validation else {}
    with pytest.raises(keras_tuner.errors.FatalValueError,
                       match=rf"objective '{objective}' is not reported by the model; it "
                             rf"reports: {reported}\."):
        search.search(x, y, epochs=1, verbose=0, **fit)
    assert len(search.oracle.trials) == 0


def test_an_objective_missing_from_a_history_stops_at_the_first_trial(tmp_path):
    x, y = _tiny_classification()
    search = ENAS(_build_tiny, objective="val_acc", max_trials=3, seed=3,
                  directory=str(tmp_path), project_name="late_check", overwrite=True)
    callback = keras.callbacks.Callback()  # callbacks may add logs: known only after fit
    with pytest.raises(keras_tuner.errors.FatalValueError, match=r"'val_acc' is not reported "
                                                                r".*val_accuracy"):
        search.search(x, y, validation_split=0.25, epochs=1, verbose=0, callbacks=[callback])
    assert len(search.oracle.trials) == 1
