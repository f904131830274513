"""Every Python block of the README and of docs/ runs, so none can rot unnoticed.

A page runs as a notebook would: its blocks in order, in one fresh process, in an empty
directory (the README's copy of a docs page's block runs on that page). Names a page
leaves to the reader (``x_train``, ``build_model``, a trained model on disk) come from
the page's prelude here; budgets shrink by exact text substitutions, each of which must
still match the page, so a changed block fails here until its entry is looked at. Each
page then checks what its blocks produced.
"""

import dataclasses
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The arrays a user has: digits as [N, 8, 8, 1] pixels 0..255 and integer labels.
ARRAYS = """
import numpy as np
from sklearn.datasets import load_digits
_digits = load_digits()
_images = (_digits.images[..., None] * (255 / 16)).astype("float32")
x_train, y_train = _images[:1400], _digits.target[:1400]
x_test, y_test = _images[1400:], _digits.target[1400:]
x, y, vx, vy = x_train, y_train, x_test, y_test
"""

# A keras-tuner hypermodel: the one examples/keras_tuner_enas.py tunes.
HYPERMODEL = f"""
import sys
sys.path.insert(0, {os.path.join(ROOT, "examples")!r})
from keras_tuner_enas import build as build_model
"""

# A trained final network with its SavedModel, where the training page reads them.
FINAL_RUN = f"""
import subprocess, sys
subprocess.run([sys.executable, {os.path.join(ROOT, "main.py")!r},
                "--flagfile={os.path.join(ROOT, "flags", "quickstart_micro_final.cfg")}",
                "--num_layers=1", "--num_epochs=1", "--steps_per_epoch=3",
                "--export_savedmodel", "--verbose=0"],
               check=True, capture_output=True)
uint8_images = (x_test[:4]).astype("uint8")
images = np.zeros((4, 8, 8, 1), "float32")
"""


@dataclasses.dataclass
class Page:
    """How a page runs: code before its blocks, text substitutions in them (budgets),
    and checks after them."""

    prelude: str = ""
    shrink: dict = dataclasses.field(default_factory=dict)
    checks: str = ""


PAGES = {
    "README.md": Page(
        shrink={"steps_per_epoch=5,": "steps_per_epoch=5, derive_random_samples=2,"},
        checks="""
import os
assert result["genotype"].startswith("Genotype(normal=[")
assert os.path.isfile("runs/readme_darts/derived_arc.json")
"""),
    "docs/keras-tuner.md": Page(
        prelude=ARRAYS + HYPERMODEL,
        shrink={"max_trials=16": "max_trials=2", "epochs=15)": "epochs=1)",
                "max_trials=40, steps_per_trial=20": "max_trials=2, steps_per_trial=2"},
        checks="""
import keras
assert best_model.predict(vx[:3], verbose=0).shape == (3, 10)
assert isinstance(model, keras.Model) and model.count_params() > 0
"""),
    "docs/own-data.md": Page(
        prelude=ARRAYS,
        shrink={"num_layers=5, filters=8,": "num_layers=3, filters=4,",
                "num_layers=5, filters=16,": "num_layers=3, filters=4,",
                "num_epochs=10)": "num_epochs=1, steps_per_epoch=3, derive_random_samples=2)",
                "num_epochs=30,": "num_epochs=1, steps_per_epoch=3,"},
        checks="""
assert 0.0 <= trained["test_accuracy"] <= 1.0 and len(found["arc"]) > 0
"""),
    "docs/spaces/micro.md": Page(
        shrink={"num_epochs=5,": "num_epochs=1, steps_per_epoch=3, controller_train_steps=2, "
                                 "derive_num_samples=2, derive_random_samples=2,"},
        checks="""
assert 0.0 <= result["valid_accuracy"] <= 1.0
"""),
    "docs/training.md": Page(
        prelude=ARRAYS + FINAL_RUN,
        shrink={"runs/cifar_micro_final/": "runs/quickstart_micro_final/"},
        checks="""
import numpy as np
probabilities = served.serve(uint8_images)["probabilities"].numpy()
assert probabilities.shape == (4, 10) and np.allclose(probabilities.sum(1), 1, atol=1e-4)
assert model.predict(images, verbose=0).shape == (4, 10)
"""),
}


def python_blocks(page: str) -> list[str]:
    with open(os.path.join(ROOT, page), encoding="utf-8") as f:
        return re.findall(r"^```python\n(.*?)^```", f.read(), re.S | re.M)


def blocks_to_run(page: str) -> list[str]:
    """The page's blocks; for the README, those it does not quote from a page of docs/
    (which run there: the keras-tuner example)."""
    blocks = python_blocks(page)
    if page == "README.md":
        quoted = {block for docs_page in PAGES if docs_page != page
                  for block in python_blocks(docs_page)}
        blocks = [block for block in blocks if block not in quoted]
    return blocks


def pages_with_python() -> set[str]:
    pages = {"README.md"}
    for folder, _, files in os.walk(os.path.join(ROOT, "docs")):
        pages |= {os.path.relpath(os.path.join(folder, f), ROOT) for f in files
                  if f.endswith(".md")}
    return {page for page in pages if python_blocks(page)}


def test_every_page_with_python_is_run():
    assert pages_with_python() == set(PAGES), "add the page to PAGES"


@pytest.mark.parametrize("page", sorted(PAGES))
def test_the_page_runs_as_written(page, tmp_path):
    spec = PAGES[page]
    code = "\n".join(blocks_to_run(page))
    for text, smaller in spec.shrink.items():
        assert text in code, f"{page} no longer contains {text!r}: update PAGES"
        code = code.replace(text, smaller)
    script = "\n".join([spec.prelude, code, spec.checks, "print('page ran')"])
    env = dict(os.environ, PYTHONPATH=ROOT, TF_ENABLE_ONEDNN_OPTS="0",
               TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("page ran")
