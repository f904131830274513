"""Every quick start in ``flags/`` runs from the command line to its end, on TensorFlow's
portable CPU path (oneDNN off) and with ``--deterministic``, so neither a kernel that only
oneDNN has nor an op TensorFlow's determinism refuses can hide in one of them.

The runs are shortened (one epoch of a few steps, small derivation budgets) but take the
real path: the flag file as a user passes it, the search, the derivation, then the final
training of the derived architecture with export. ``ONEDNN=1 pytest -m slow
tests/test_quickstarts.py`` runs the same on the oneDNN path.
"""

import glob
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEARCHES = sorted(os.path.basename(path)[:-4] for path in glob.glob(
    os.path.join(ROOT, "flags", "quickstart_*.cfg")) if not path.endswith("_final.cfg"))
# Which final quick start trains what each search derives (nb201's strategies share one).
FINAL_FOR = {name: ("quickstart_nb201_final" if name.startswith("quickstart_nb201")
                    else "quickstart_darts_final" if name == "quickstart_gdas"
                    else "quickstart_rnn_darts_final" if name == "quickstart_rnn_gdas"
                    else f"{name}_final") for name in SEARCHES}
# What the final flag file's comment says to add for a searched cell.
FINAL_EXTRA = {"quickstart_rnn": ["--num_nodes=6"]}
SHORT = ["--num_epochs=1", "--log_every=1", "--verbose=0", "--deterministic", "--seed=3"]
SHORT_SEARCH = {"steps_per_epoch": "3", "derive_random_samples": "1",
                "derive_num_samples": "2", "controller_train_steps": "1",
                "controller_num_aggregate": "1"}


def _flags(name: str) -> set:
    with open(os.path.join(ROOT, "flags", f"{name}.cfg")) as f:
        return {line.strip()[2:].split("=")[0] for line in f if line.startswith("--")}


def _main(flagfile: str, *args):
    env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS=os.environ.get("ONEDNN", "0"))
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "main.py"),
         f"--flagfile={os.path.join(ROOT, 'flags', flagfile + '.cfg')}", *args],
        capture_output=True, text=True, timeout=1200, cwd=ROOT, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_every_search_quick_start_has_a_final_one():
    finals = {os.path.basename(p)[:-4] for p in glob.glob(
        os.path.join(ROOT, "flags", "quickstart_*_final.cfg"))}
    assert len(SEARCHES) == 11 and set(FINAL_FOR.values()) == finals


@pytest.mark.slow
@pytest.mark.parametrize("name", SEARCHES)
def test_quick_start_searches_then_trains_its_architecture(name, tmp_path):
    search_dir, final_dir = tmp_path / "search", tmp_path / "final"
    # Shorten only what the flag file sets (or what its strategy reads).
    given = _flags(name)
    controller = not any(s in name for s in ("darts", "gdas"))
    shorten = [f"--{key}={value}" for key, value in SHORT_SEARCH.items()
               if key in given or (controller and key.startswith("controller"))]
    _main(name, *SHORT, *shorten, f"--output_dir={search_dir}")
    arc_file = search_dir / "derived_arc.json"
    derived = json.loads(arc_file.read_text())
    assert derived["arc"], derived
    # A final flag file that names a cell (--arc=DARTS_V2) gives way to the searched one.
    _main(FINAL_FOR[name], *SHORT, "--arc=", f"--arc_file={arc_file}",
          f"--output_dir={final_dir}",
          *FINAL_EXTRA.get(name, []))
    result = json.loads((final_dir / "result.json").read_text())
    assert result["epochs_trained"] == 1, result
    # Image spaces report test accuracy, the language model test perplexity.
    assert 0.0 <= result.get("test_accuracy", 0.5) <= 1.0 and result.get("test_perplexity", 1) > 0
    assert os.path.isfile(result["model_file"])
