"""Every example runs, with short settings, so none can rot unnoticed."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_example(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, "examples",
                                                                     f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_example_has_a_test():
    tested = {"keras_tuner_enas", "keras_tuner_supernet", "toy_strategy",
              "search_your_own_data"}
    assert {f[:-3] for f in os.listdir(os.path.join(ROOT, "examples"))
            if f.endswith(".py")} == tested


def test_the_one_line_tuner_example_compares_enas_with_random_search(tmp_path, capsys):
    results = load_example("keras_tuner_enas").main(
        ["--trials", "3", "--epochs", "2", "--seeds", "1", "--directory", str(tmp_path)])
    assert [r["tuner"] for r in results] == ["ENAS", "RandomSearch"]
    for result in results:
        assert 0.1 < result["best_val"] <= 1.0 and 0.0 < result["test"] <= 1.0
        assert result["mean_val"] <= result["best_val"] and result["seconds"] > 0
    printed = capsys.readouterr().out
    assert "3 trials x 2 epochs per tuner" in printed
    assert "ENAS: best test accuracy" in printed and "RandomSearch: best test" in printed


def test_the_supernet_example_trains_both_searches_best_cells_and_exports(tmp_path, capsys):
    results = load_example("keras_tuner_supernet").main(
        ["--trials", "2", "--steps", "2", "--final_epochs", "1", "--directory",
         str(tmp_path)])
    assert set(results) == {"ENAS", "random"}
    for result in results.values():
        assert 0.0 <= result["search_val"] <= 1.0 and 0.0 <= result["test_accuracy"] <= 1.0
        assert len(result["arc"]) == 40  # both cells of a 5-node micro architecture
    assert os.path.isfile(os.path.join(results["ENAS"]["savedmodel"], "saved_model.pb"))
    assert "savedmodel" not in results["random"]
    assert "trained 1 epochs from scratch" in capsys.readouterr().out


@pytest.mark.slow
def test_the_one_line_tuner_example_reaches_real_accuracy(tmp_path):
    """The default budget reaches what the README promises (~3 minutes)."""
    results = load_example("keras_tuner_enas").main(["--directory", str(tmp_path)])
    assert min(r["test"] for r in results) > 0.95


TOY_CHECK = """
import json, sys
sys.path.insert(0, {examples!r})
import toy_strategy
from enas_tf import SearchConfig, get_strategy, strategy_names
result = toy_strategy.main(["--epochs", "1", "--steps", "3", "--pool_size", "3",
                            "--output_dir", {output!r}])
pool = toy_strategy.PoolStrategy
try:
    SearchConfig.for_space("darts", strategy="pool").validate()
    refusal = None
except ValueError as error:
    refusal = str(error)
try:
    SearchConfig.for_space("micro", strategy="pool", pool_size=1).validate()
    too_small = None
except ValueError as error:
    too_small = str(error)
print(json.dumps({{"names": strategy_names(), "same": get_strategy("pool") is pool,
                  "refusal": refusal, "too_small": too_small}}))
"""


def test_a_strategy_written_outside_the_library_searches_through_its_loop(tmp_path):
    """The toy strategy of examples/ registers itself with its own setting and runs the
    library's search loop; compatibility and checks come from its declarations. In a
    subprocess: registering changes the strategies this process would list."""
    output = str(tmp_path / "pool")
    code = TOY_CHECK.format(examples=os.path.join(ROOT, "examples"), output=output)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    facts = json.loads(done.stdout.strip().splitlines()[-1])
    assert facts["names"] == ["enas", "darts", "gdas", "random", "pool"] and facts["same"]
    assert facts["refusal"] == ("strategy pool does not search the darts space; it is "
                                "searched by: darts, gdas.")
    assert facts["too_small"] == "pool_size must be >= 2, got 1."
    assert "pool search: derived" in done.stdout
    with open(os.path.join(output, "config.json")) as f:
        saved = json.load(f)
    assert saved["strategy"] == "pool" and saved["pool_size"] == 3
    with open(os.path.join(output, "derived_arc.json")) as f:
        derived = json.load(f)
    assert derived["strategy"] == "pool" and derived["epochs_trained"] == 1
    with open(os.path.join(output, "history.json")) as f:
        history = json.load(f)
    assert [record["epoch"] for record in history] == [1]
    assert set(history[0]) >= {"pool_accuracy", "pool_entropy", "most_likely_arc"}


@pytest.mark.slow
def test_the_own_data_example_searches_arrays_and_retrains_the_result(tmp_path, capsys):
    result = load_example("search_your_own_data").main(
        ["--search_epochs", "1", "--final_epochs", "1", "--directory", str(tmp_path)])
    assert 0.0 <= result["random_mean"] <= 1.0 and 0.0 < result["test_accuracy"] <= 1.0
    assert 0.0 < result["random_test_accuracy"] <= 1.0
    assert result["genotype"].startswith("Genotype(normal=[")
    printed = capsys.readouterr().out
    assert "1198 train / 299 valid / 300 test images of (16, 16, 1), 10 classes" in printed
    assert "random genotype retrained from scratch: test accuracy" in printed
    for label in ("found", "random"):
        assert os.path.exists(tmp_path / f"final_{label}" / "model.keras")
