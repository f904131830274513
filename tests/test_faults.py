"""Reliability under faults: kills at random moments, NaN, corrupt or concurrent runs,
unwritable or full output directories, offline data, one-line errors."""

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import ROOT, TINY_SEARCH, make_splits
from enas_tf.config import SearchConfig
from enas_tf.data import DataNotFoundError, load_cifar10
from enas_tf.export import load_architecture
from enas_tf.search_spaces.micro import MicroSearchSpace
from enas_tf.training import safety
from enas_tf.training.safety import NonFiniteError, RunLock, RunStateError
from enas_tf.loops.search import Search


def _main(*args, timeout=600):
    return subprocess.run([sys.executable, os.path.join(ROOT, "main.py"), *args],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def _killed_after(args, marker: str, delay: float) -> str:
    """Starts ``main.py args``, SIGKILLs it ``delay`` seconds after it logs a line with
    ``marker``; returns the last log line before the kill (where it was)."""
    process = subprocess.Popen([sys.executable, os.path.join(ROOT, "main.py"), *args],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               cwd=ROOT)
    lines = []
    for line in process.stdout:
        if "] " in line:
            lines.append(line.split("] ", 1)[1].strip())
        if marker in line:
            break
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    rest, _ = process.communicate()
    lines += [line.split("] ", 1)[1].strip() for line in rest.splitlines() if "] " in line]
    return lines[-1][:100] if lines else "(before the first log line)"


# Where the kills land: in the steps after a checkpoint, around the next checkpoint's
# write (the controller phase, saving), and in the derivation after the last epoch.
KILL_POINTS = (("epoch 2/3 shared weights step 4/4", 0.0, 1.5), ("epoch 3/3 done", 0.0, 1.0))
TINY_FINAL = ["--mode=final", "--dataset=digits", "--num_layers=1", "--num_nodes=2",
              "--filters=4", "--batch_size=32", "--num_epochs=3", "--steps_per_epoch=4",
              "--aux_weight=0",
              "--eval_every=3", "--log_every=1", "--verbose=0", "--deterministic", "--seed=5",
              "--arc=0 0 1 1 0 2 2 3 0 0 1 1 0 2 2 3"]


@pytest.mark.slow
def test_a_search_killed_at_random_moments_ends_as_an_uninterrupted_one(tmp_path):
    args = [*TINY_SEARCH, "--num_epochs=3"]
    reference = tmp_path / "reference"
    done = _main(*args, f"--output_dir={reference}")
    assert done.returncode == 0, done.stderr[-2000:]
    interrupted = tmp_path / "interrupted"
    rng = random.Random(7)
    where = [_killed_after([*args, f"--output_dir={interrupted}"], marker,
                           rng.uniform(low, high)) for marker, low, high in KILL_POINTS]
    resumed = _main(*args, f"--output_dir={interrupted}")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    print("killed at:", *where, sep="\n  ")
    expected = json.load(open(reference / "derived_arc.json"))
    got = json.load(open(interrupted / "derived_arc.json"))
    assert got["arc"] == expected["arc"]
    assert got["valid_accuracy"] == expected["valid_accuracy"]
    assert got["random_architectures"] == expected["random_architectures"]
    history = [r["train_loss"] for r in json.load(open(interrupted / "history.json"))]
    assert history == [r["train_loss"] for r in json.load(open(reference / "history.json"))]
    assert not list((interrupted / "checkpoints").glob("*.tmp*"))


def test_a_final_training_killed_mid_run_ends_with_the_uninterrupted_weights(tmp_path):
    import keras

    import enas_tf  # noqa: F401  (registers the saved model's layers)

    reference, interrupted = tmp_path / "reference", tmp_path / "interrupted"
    done = _main(*TINY_FINAL, f"--output_dir={reference}")
    assert done.returncode == 0, done.stderr[-2000:]
    where = _killed_after([*TINY_FINAL, f"--output_dir={interrupted}"], "epoch 1/3 done",
                          random.Random(3).uniform(0.0, 1.5))
    resumed = _main(*TINY_FINAL, f"--output_dir={interrupted}")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    print("killed at:", where)
    expected = json.load(open(reference / "result.json"))
    assert json.load(open(interrupted / "result.json"))["test_accuracy"] == (
        expected["test_accuracy"])
    images = np.random.default_rng(0).normal(size=(4, 8, 8, 1)).astype("float32")
    a = keras.models.load_model(reference / "model.keras")(images, training=False)
    b = keras.models.load_model(interrupted / "model.keras")(images, training=False)
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)


def _tiny_config(tmp_path, **values):
    return SearchConfig(**{**dict(
        dataset="digits", num_layers=1, num_nodes=2, filters=4, batch_size=16, num_valid=32,
        steps_per_epoch=3, num_epochs=1, controller_train_steps=1,
        controller_num_aggregate=2, derive_num_samples=2, derive_random_samples=1,
        aux_weight=0.0, verbose=0, log_every=1, output_dir=str(tmp_path / "run")), **values})


def test_a_non_finite_loss_stops_the_run_naming_epoch_step_and_checkpoint(tmp_path):
    splits = make_splits(64, 32)
    search = Search(_tiny_config(tmp_path, num_epochs=3), splits)
    step = search.method.shared_step
    calls = []

    def poisoned(images, labels):  # a weight turns NaN at the second step of epoch 2
        calls.append(1)
        if len(calls) == 5:
            variable = search.supernet.trainable_variables[0]
            variable.assign(variable * np.nan)
        return step(images, labels)

    search.method.shared_step = poisoned
    with pytest.raises(NonFiniteError, match=r"epoch 2 step 2; nothing of this epoch was "
                                             r"saved\. The last good checkpoint is .*ckpt-1"):
        search.run()
    assert sorted(os.listdir(tmp_path / "run" / "checkpoints")) == [
        "checkpoint", "ckpt-1.data-00000-of-00001", "ckpt-1.index"]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A one-epoch search to damage (copied per test)."""
    path = tmp_path_factory.mktemp("finished")
    Search(_tiny_config(path), make_splits(64, 32)).run()
    return path / "run"


@pytest.mark.parametrize("damage, message", [
    (lambda run: (run / "config.json").write_text('{"seed": '), r"config.json is not valid JSON"),
    (lambda run: (run / "history.json").write_text("[{]"), r"history.json is not valid JSON"),
    (lambda run: (run / "checkpoints" / "ckpt-1.index").write_bytes(b"\x00" * 7),
     r"checkpoint .*ckpt-1 cannot be restored"),
    (lambda run: (run / "checkpoints" / "ckpt-1.data-00000-of-00001").write_bytes(b"xx"),
     r"checkpoint .*ckpt-1 cannot be restored"),
])
def test_corrupt_state_names_the_file_and_what_to_do(tmp_path, finished_run, damage, message):
    shutil.copytree(finished_run, tmp_path / "run")
    damage(tmp_path / "run")
    with pytest.raises(RunStateError, match=message + r".*rerun with --restart"):
        Search(_tiny_config(tmp_path, num_epochs=2), make_splits(64, 32)).run()


def test_restart_starts_over_in_the_same_directory(tmp_path, finished_run):
    shutil.copytree(finished_run, tmp_path / "run")
    (tmp_path / "run" / "checkpoints" / "ckpt-1.index").write_bytes(b"\x00" * 7)
    (tmp_path / "run" / "notes.txt").write_text("mine")  # not the run's: kept
    result = Search(_tiny_config(tmp_path, restart=True), make_splits(64, 32)).run()
    assert result["epochs_trained"] == 1
    assert json.load(open(tmp_path / "run" / "config.json"))["restart"] is True
    assert (tmp_path / "run" / "notes.txt").read_text() == "mine"


def test_a_corrupt_architecture_file_names_the_file(tmp_path):
    path = tmp_path / "derived_arc.json"
    path.write_text('{"architecture": {"normal": [')
    with pytest.raises(ValueError, match=r"derived_arc.json: architecture JSON does not parse"):
        load_architecture(MicroSearchSpace(num_nodes=2), arc_file=str(path))


def test_a_directory_or_a_picture_as_architecture_file_is_named(tmp_path):
    (tmp_path / "derived_arc.json").write_text("0 0")
    with pytest.raises(ValueError, match=r"architecture file .* is a directory; give a file "
                                         r"in it such as .*derived_arc.json\."):
        load_architecture(MicroSearchSpace(num_nodes=2), arc_file=str(tmp_path))
    picture = tmp_path / "derived_arc.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    with pytest.raises(ValueError, match=r"derived_arc.png is not a text file \(a picture\?\)"):
        load_architecture(MicroSearchSpace(num_nodes=2), arc_file=str(picture))


def test_a_second_run_on_the_same_directory_is_refused_and_a_dead_lock_is_not(tmp_path):
    splits = make_splits(64, 32)
    os.makedirs(tmp_path / "run")
    with RunLock(str(tmp_path / "run")):
        with pytest.raises(RunStateError, match=r"is in use by another run \(pid \d+"):
            Search(_tiny_config(tmp_path), splits).run()
    # A process that holds the lock and is killed leaves nothing that blocks the next run.
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; sys.path.insert(0, sys.argv[2]);"
        "from enas_tf.training.safety import RunLock; lock = RunLock(sys.argv[1]).acquire();"
        "print('held', flush=True); time.sleep(60)"), str(tmp_path / "run"), ROOT],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(RunStateError, match="in use by another run"):
        RunLock(str(tmp_path / "run")).acquire()
    holder.kill()
    holder.wait()
    assert Search(_tiny_config(tmp_path), splits).run()["epochs_trained"] == 1


def test_an_unwritable_or_full_output_directory_is_refused_before_work(tmp_path, monkeypatch):
    (tmp_path / "a_file").write_text("")
    with pytest.raises(RunStateError, match="cannot write to the output directory"):
        Search(_tiny_config(tmp_path, output_dir=str(tmp_path / "a_file" / "run")),
               make_splits(64, 32))
    monkeypatch.setattr(safety.shutil, "disk_usage",
                        lambda path: type("Usage", (), {"free": 2**20})())
    with pytest.raises(RunStateError, match=r"only 1.0 MiB free in .*this run needs about "
                                            r"\d+\.\d MiB .*lower --max_checkpoints"):
        Search(_tiny_config(tmp_path), make_splits(64, 32))
    # The floor scales with the run: a tiny one fits on a 40 MiB disk.
    monkeypatch.setattr(safety.shutil, "disk_usage",
                        lambda path: type("Usage", (), {"free": 40 * 2**20})())
    Search(_tiny_config(tmp_path), make_splits(64, 32))


def test_offline_cifar10_fails_within_seconds_saying_how_to_prepare_it(tmp_path, monkeypatch):
    import enas_tf.data.tfds_images as cifar10

    monkeypatch.setattr(cifar10, "download_reachable", lambda *a, **k: False)
    began = time.time()
    with pytest.raises(DataNotFoundError, match=r"www.cs.toronto.edu cannot be reached.*"
                                                r"tfds build cifar10"):
        load_cifar10(data_dir=str(tmp_path))
    assert time.time() - began < 10
    assert cifar10.download_reachable("host.invalid", timeout=1.0) is False


@pytest.mark.parametrize("args, message", [
    (["--flagfile=flags/quickstart_micro.cfg", "--batch_size=-3"],
     "error: batch_size must be >= 1, got -3. (--helpshort lists the flags)"),
    (["unexpected"], "error: unexpected arguments: unexpected (--helpshort lists the flags)"),
    (["--search_space=bogus"], "error: flag --search_space=bogus: value should be one of "
     "<micro|macro|darts|darts_frc|nb201|rnn> (--helpshort lists the flags)"),
    (["--flagfile=flags/quickstart_micro.cfg", "--seed=-1"],
     "error: seed must be >= 0, got -1. (--helpshort lists the flags)"),
    (["--mode=final", "--summary_only", "--dataset=digits", "--arc_file=flags"],
     "error: architecture file flags is a directory; give a file in it."),
    (["--mode=final", "--summary_only", "--dataset=digits",
      "--arc=|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|"
      "skip_connect~2|"], "error: position 0: '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|"
     "+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|' is not an integer; it reads as an "
     "architecture of --search_space=nb201."),
    # DARTS_V2 names DARTS's convolutional genotype and its recurrent cell.
    (["--mode=final", "--summary_only", "--dataset=digits", "--arc=DARTS_V2"],
     "error: position 0: 'DARTS_V2' is not an integer; it reads as an architecture of "
     "--search_space=darts or --search_space=rnn."),
    (["--dataset=cifar10", "--data_dir=README.md"], "error: data directory README.md is a "
     "file; give the directory that holds the cifar10 data (--data_dir)."),
    (["--dataset=digits", "--data_dir=/tmp"], "error: digits is bundled with an installed "
     "package and reads no data directory; drop --data_dir=/tmp."),
])
def test_a_bad_flag_prints_one_line_not_the_help(args, message):
    result = _main(*args)
    assert result.returncode == 2
    ours = [line for line in result.stderr.splitlines()
            if not line.startswith(("I0000", "W0000", "WARNING: All log", "I1", "W1"))]
    assert ours == [message]


def test_cli_errors_for_corrupt_state_and_a_busy_directory(tmp_path):
    run = tmp_path / "run"
    os.makedirs(run / "checkpoints")
    (run / "checkpoints" / "ckpt-1.index").write_bytes(b"\x00" * 7)
    result = _main(*TINY_SEARCH, f"--output_dir={run}")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "ckpt-1 cannot be restored" in result.stderr
    assert "rerun with --restart" in result.stderr
    with RunLock(str(run)):
        result = _main(*TINY_SEARCH, "--restart", f"--output_dir={run}")
    assert result.returncode == 2 and "is in use by another run" in result.stderr


# --- keras-tuner ---------------------------------------------------------------------

def test_a_raising_trial_is_failed_without_poisoning_the_controller(tmp_path):
    import keras_tuner

    from distributed_tuning import SyntheticTuner, declare
    from tuner import ENASOracle

    class Flaky(SyntheticTuner):
        def run_trial(self, trial, *args, **kwargs):
            if int(trial.trial_id) % 3 == 1:
                raise RuntimeError("the trial's model diverged")
            return super().run_trial(trial, *args, **kwargs)

    oracle = ENASOracle(objective=keras_tuner.Objective("score", "max"), max_trials=12,
                        learning_rate=0.01, seed=1, max_consecutive_failed_trials=3)
    Flaky(oracle=oracle, hypermodel=declare, directory=str(tmp_path),
          project_name="flaky").search(verbose=0)
    statuses = [trial.status for trial in oracle.trials.values()]
    assert statuses.count("FAILED") == 4 and statuses.count("COMPLETED") == 8
    assert oracle.updates == 8  # one REINFORCE update per completed trial, none per failure
    for variable in oracle.controller.trainable_variables:
        assert np.isfinite(variable.numpy()).all()


def test_a_killed_tuner_process_resumes_to_its_trial_budget(tmp_path):
    script = [sys.executable, os.path.join(ROOT, "tests", "distributed_tuning.py"),
              str(tmp_path), "60"]
    process = subprocess.Popen(script, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    for line in process.stdout:
        if line.startswith("ran trial") and int(line.split()[2]) >= 15:
            break
    process.send_signal(signal.SIGKILL)
    process.communicate()
    done = subprocess.run(script, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("done")
    resumed_from = int(done.stdout.split("ran trial ")[1].split()[0])
    assert resumed_from >= 15  # the finished trials were not rerun
    trials = [json.load(open(os.path.join(root, name)))
              for root, _, names in os.walk(tmp_path / "distributed") for name in names
              if name == "trial.json"]
    completed = [t for t in trials if t["status"] == "COMPLETED"]
    assert len(completed) >= 59 and len(trials) == 60
