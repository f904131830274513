"""A run's state is one unit: checkpoints, history.json and config.json must agree on
resume; lost or damaged members are named or recovered from, never passed silently; a
full disk is one line and a rerun resumes; a refused run writes nothing."""

import json
import os
import shutil

import pytest
import tensorflow as tf

from conftest import make_splits
from enas_tf.config import SearchConfig
from enas_tf.training import run_dir
from enas_tf.training.checkpoints import RunCheckpoints
from enas_tf.training.safety import DiskFullError, RunLock, RunStateError
from enas_tf.loops.search import Search


def _config(path, **values):
    return SearchConfig(**{**dict(
        dataset="digits", num_layers=1, num_nodes=2, filters=4, batch_size=16, num_valid=32,
        steps_per_epoch=2, num_epochs=2, controller_train_steps=1,
        controller_num_aggregate=2, derive_num_samples=2, derive_random_samples=1,
        aux_weight=0.0, verbose=0, log_every=1, deterministic=True, seed=5,
        output_dir=str(path / "run")), **values})


def _search(path, **values):
    return Search(_config(path, **values), make_splits(64, 32))


@pytest.fixture(scope="module")
def two_epochs(tmp_path_factory):
    """A finished 2-epoch search (ckpt-1, ckpt-2) to damage; copied per test."""
    path = tmp_path_factory.mktemp("two_epochs")
    _search(path).run()
    return path / "run"


@pytest.fixture
def run(tmp_path, two_epochs):
    shutil.copytree(two_epochs, tmp_path / "run")
    return tmp_path / "run"


@pytest.mark.parametrize("damage, changed, message", [
    (lambda run: (run / "history.json").write_text("[]"), {},
     r"history.json holds records of epochs none but the checkpoint holds 2 finished epochs"),
    (lambda run: (run / "history.json").unlink(), {},
     r"history.json is missing but the checkpoint holds 2 finished epochs"),
    (lambda run: (run / "config.json").unlink(), dict(lr_max=0.2, controller_lr=0.5),
     r"config.json is missing although .* holds checkpoint ckpt-2: the settings it was "
     r"trained with are unknown"),
])
def test_a_lost_member_of_the_run_state_is_named_not_recreated(tmp_path, run, damage, changed,
                                                               message):
    damage(run)
    with pytest.raises(RunStateError, match=message + r".*rerun with --restart"):
        _search(tmp_path, num_epochs=3, **changed).run()
    assert not (run / "checkpoints" / "ckpt-3.index").exists()


def test_history_of_epochs_without_checkpoints_is_refused(tmp_path, run):
    shutil.rmtree(run / "checkpoints")
    with pytest.raises(RunStateError, match=r"history.json records 2 finished epochs but the "
                                            r"newest checkpoint .* is of epoch 0 \(none is "
                                            r"there\): the checkpoints were lost"):
        _search(tmp_path, num_epochs=3).run()


@pytest.mark.parametrize("lost", ["index deleted", "index garbled"])
def test_a_lost_index_is_rebuilt_from_the_checkpoint_files(tmp_path, run, lost, caplog):
    index = run / "checkpoints" / "checkpoint"
    if lost == "index deleted":
        index.unlink()
    else:
        index.write_text("garbage ::: {")
    search = _search(tmp_path, num_epochs=3)
    assert search.restore() == 2
    assert "rebuilt it from the checkpoint files" in caplog.text
    assert tf.train.latest_checkpoint(str(run / "checkpoints")).endswith("ckpt-2")
    assert search.run()["epochs_trained"] == 3
    assert [r["epoch"] for r in json.load(open(run / "history.json"))] == [1, 2, 3]


@pytest.mark.parametrize("damage", ["truncated", "deleted"])
def test_a_damaged_newest_checkpoint_falls_back_to_the_one_before(tmp_path, run, damage,
                                                                  two_epochs, caplog):
    data = run / "checkpoints" / "ckpt-2.data-00000-of-00001"
    if damage == "truncated":
        data.write_bytes(data.read_bytes()[:100])
    else:
        data.unlink()
    search = _search(tmp_path)
    assert search.restore() == 1
    assert "ckpt-2 cannot be restored" in caplog.text
    assert "resuming from ckpt-1, the newest intact one" in caplog.text
    assert [r["epoch"] for r in search.history] == [1]
    result = search.run()  # redoes epoch 2 and ends as the uninterrupted run did
    reference = json.load(open(two_epochs / "derived_arc.json"))
    assert result["epochs_trained"] == 2
    assert (result["arc"], result["valid_accuracy"]) == (reference["arc"],
                                                         reference["valid_accuracy"])
    assert search.manager.latest_checkpoint.endswith("ckpt-2")


def test_resuming_a_finished_run_with_fewer_epochs_is_refused(tmp_path, run):
    with pytest.raises(RunStateError, match=r"holds a run of 2 finished epochs; "
                                            r"--num_epochs=1 would undo them"):
        _search(tmp_path, num_epochs=1).run()
    assert json.load(open(run / "config.json"))["num_epochs"] == 2


def test_changed_settings_still_refused_when_resuming(tmp_path, run):
    with pytest.raises(ValueError, match=r"holds a run with different settings \(filters"):
        _search(tmp_path, num_epochs=3, filters=6).restore()


def _fails_at_epoch_2(original, is_epoch_2, error):
    def wrapped(*args, **kwargs):
        if is_epoch_2(*args, **kwargs):
            raise error
        return original(*args, **kwargs)
    return wrapped


@pytest.mark.parametrize("where, named", [
    ("checkpoint", "checkpoint ckpt-2"),
    ("history", "history.json"),
    ("summaries", "the TensorBoard summaries"),
])
def test_a_full_disk_is_one_line_naming_what_and_the_last_checkpoint(tmp_path, where, named,
                                                                     monkeypatch):
    import enas_tf.loops.search as search_module

    tf_full = tf.errors.ResourceExhaustedError(None, None, "WriteSummary: No space left on "
                                                           "device")
    if where == "checkpoint":
        monkeypatch.setattr(RunCheckpoints, "save", _fails_at_epoch_2(
            RunCheckpoints.save, lambda self, checkpoint_number: checkpoint_number == 2,
            tf_full))
    elif where == "history":  # the real write_json, its json.dump failing half-way
        monkeypatch.setattr(run_dir.json, "dump", _fails_at_epoch_2(
            json.dump, lambda data, f, **kw: f.name.endswith("history.json.tmp") and len(
                data) == 2, OSError(28, "No space left on device")))
    else:  # the real save_summaries, the writer's flush failing at epoch 2
        class FullDisk:
            def flush(self):
                raise tf_full

        writes, original = [], search_module.save_summaries
        monkeypatch.setattr(search_module, "save_summaries", lambda writer: writes.append(1) or (
            original(FullDisk() if len(writes) == 2 else writer)))
    with pytest.raises(DiskFullError) as error:
        _search(tmp_path).run()
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"no space left on the disk of {tmp_path / 'run'} while "
                              f"writing {named}; the last good checkpoint is ")
    assert "ckpt-1 (epoch 1); free some space and rerun the same command" in message
    assert not list((tmp_path / "run").rglob("*.tmp")) and not list(
        (tmp_path / "run" / "checkpoints").glob("*_temp*"))
    monkeypatch.undo()
    assert _search(tmp_path).run()["epochs_trained"] == 2  # the rerun resumes and ends


def test_a_refused_run_writes_nothing_into_the_other_runs_directory(tmp_path):
    search = _search(tmp_path)  # built before the other run took the directory
    before = sorted(p.name for p in (tmp_path / "run").rglob("*"))
    with RunLock(str(tmp_path / "run")):
        with pytest.raises(RunStateError, match="in use by another run"):
            search.run()
    assert sorted(p.name for p in (tmp_path / "run").rglob("*")) == before
    assert not (tmp_path / "run" / "tensorboard").exists()


def test_no_half_written_json_is_left_when_a_write_fails(tmp_path, monkeypatch):
    path = tmp_path / "history.json"
    run_dir.write_json(str(path), [{"epoch": 1}])

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(run_dir.json, "dump", full)
    with pytest.raises(DiskFullError, match="history.json"):
        run_dir.write_json(str(path), [{"epoch": 1}, {"epoch": 2}])
    assert json.load(open(path)) == [{"epoch": 1}] and os.listdir(tmp_path) == [
        "history.json"]
