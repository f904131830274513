"""Serving exports: SavedModels that load and predict where enas-tf cannot be imported."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from conftest import make_splits, tiny_final_config, tiny_text
from enas_tf.config import FinalConfig
from enas_tf.search_spaces.micro import MicroSearchSpace
from enas_tf.search_spaces.rnn import ENAS_LM_CELL, RecurrentCellSearchSpace
from enas_tf.serving import export_language_model, export_savedmodel
from enas_tf.loops.final import FinalTraining
from enas_tf.loops.final_lm import LanguageModelTraining

ARC = MicroSearchSpace(3).random_architecture(np.random.default_rng(0))

# Run by a fresh interpreter in isolated mode (no PYTHONPATH, no script directory on
# sys.path) from an empty directory, with imports of enas-tf's packages refused: the
# SavedModel must need TensorFlow alone.
LOADER = """
import importlib.abc, json, sys
import numpy as np

class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("enas_tf", "tuner"):
            raise ImportError(f"{name} must not be needed to serve")

sys.meta_path.insert(0, Refuse())
import tensorflow as tf

model_dir, inputs_file, outputs_file = sys.argv[1:]
served = tf.saved_model.load(model_dir)
inputs = np.load(inputs_file)
outputs = {key: value.numpy() for key, value in served.serve(tf.constant(inputs)).items()}
default = served.signatures["serving_default"]
outputs["default_first"] = next(iter(default(**{
    default.structured_input_signature[1].popitem()[0]: tf.constant(inputs)}).values())).numpy()
if hasattr(served, "vocabulary"):
    outputs["vocabulary"] = np.array([w.decode() for w in served.vocabulary().numpy()])
np.savez(outputs_file, **outputs)
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("enas_tf", "tuner"))))
"""


def serve_elsewhere(model_dir, inputs, tmp_path):
    """The SavedModel's ``serve`` outputs on ``inputs``, computed in another process."""
    workdir = tmp_path / "elsewhere"
    workdir.mkdir(exist_ok=True)
    np.save(workdir / "inputs.npy", inputs)
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    process = subprocess.run(
        [sys.executable, "-I", "-c", LOADER, str(model_dir), str(workdir / "inputs.npy"),
         str(workdir / "outputs.npz")], cwd=workdir, env=env, capture_output=True,
        text=True, timeout=300)
    assert process.returncode == 0, process.stderr[-3000:]
    assert json.loads(process.stdout.strip().splitlines()[-1]) == []  # nothing of ours
    return dict(np.load(workdir / "outputs.npz"))


def _final_config(output_dir, **overrides):
    return tiny_final_config(output_dir, **{
        "num_nodes": 3, "aux_weight": 0.0, "cutout": 0, "steps_per_epoch": 2, "verbose": 0,
        "export_savedmodel": True, **overrides})


def test_final_training_exports_a_savedmodel_that_serves_raw_pixels_without_enas_tf(tmp_path):
    splits = make_splits(num_train=32, num_valid=16)
    training = FinalTraining(_final_config(tmp_path), ARC, splits)
    result = training.run()
    assert result["savedmodel"] == str(tmp_path / "savedmodel")
    with open(tmp_path / "result.json") as f:
        assert json.load(f)["savedmodel"] == result["savedmodel"]
    images = splits.test[0][:6]
    served = serve_elsewhere(result["savedmodel"], images, tmp_path)
    expected = training.model(splits._normalize(images), training=False).numpy()
    np.testing.assert_allclose(served["logits"], expected, atol=1e-5)
    np.testing.assert_allclose(served["probabilities"], tf.nn.softmax(expected), atol=1e-6)
    np.testing.assert_allclose(served["probabilities"].sum(axis=1), 1.0, atol=1e-5)
    assert served["default_first"].shape == expected.shape
    assert not os.path.exists(tmp_path / "savedmodel.partial")


def test_models_built_under_two_replicas_export_too(tmp_path):
    splits = make_splits(num_train=32, num_valid=16)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    training = FinalTraining(_final_config(tmp_path, export_savedmodel=False),
                             ARC, splits, strategy=strategy)
    path = export_savedmodel(training.model, str(tmp_path / "served"), splits)
    loaded = tf.saved_model.load(path)
    images = splits.test[0][:4]
    np.testing.assert_allclose(
        loaded.serve_normalized(splits._normalize(images)).numpy(),
        training.model(splits._normalize(images), training=False).numpy(), atol=1e-5)
    # Exporting again replaces the SavedModel in place.
    assert export_savedmodel(training.model, path, splits) == path
    reloaded = tf.saved_model.load(path)
    assert reloaded.serve(images)["logits"].shape == (4, 4)


def test_language_models_export_with_their_vocabulary(tmp_path):
    data = tiny_text()
    config = FinalConfig.for_space(
        "rnn", dataset="python_docs", hidden_size=8, batch_size=4, bptt=6, num_epochs=1,
        verbose=0, output_dir=str(tmp_path / "final"), seed=1, export_savedmodel=True)
    arc = RecurrentCellSearchSpace(8).from_string(ENAS_LM_CELL)
    training = LanguageModelTraining(config, arc, data)
    result = training.run()
    tokens = np.array([[1, 2, 3, 4], [5, 6, 7, 8]], np.int32)
    served = serve_elsewhere(result["savedmodel"], tokens, tmp_path)
    with training._averaged_weights():
        expected = training.model(tf.constant(tokens), training=False).numpy()
    np.testing.assert_allclose(served["logits"], expected, atol=1e-5)
    assert list(served["vocabulary"]) == list(data.vocabulary)
    np.testing.assert_allclose(np.exp(served["log_probabilities"]).sum(-1), 1.0, atol=1e-5)


def test_bad_export_targets_are_refused_in_one_line(tmp_path):
    splits = make_splits(num_train=32, num_valid=16)
    training = FinalTraining(_final_config(tmp_path, export_savedmodel=False),
                             ARC, splits)
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(FileExistsError, match="a_file: it is a file"):
        export_savedmodel(training.model, str(tmp_path / "a_file"), splits)
    lm = LanguageModelTraining(FinalConfig.for_space(
        "rnn", dataset="python_docs", hidden_size=8, batch_size=4, bptt=6, num_epochs=1,
        verbose=0, output_dir=str(tmp_path / "lm"), seed=1), RecurrentCellSearchSpace(8)
        .from_string(ENAS_LM_CELL), tiny_text()).model
    with pytest.raises(ValueError, match="vocabulary has 3 words but the model predicts 12"):
        export_language_model(lm, str(tmp_path / "lm_served"), ["a", "b", "c"])
