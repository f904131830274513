"""SIGTERM and SIGINT stop a CLI run with one line at the next safe point (also while
the first step traces), exit 143 / 130, and a rerun resumes."""

import json
import os
import signal
import subprocess
import sys

from conftest import ROOT, TINY_SEARCH

OWN = ("I0000", "W0000", "WARNING: All log", "I1", "W1")


def _signalled(args, marker: str, signum: int) -> tuple[int, list[str]]:
    """Runs ``main.py args``, sends ``signum`` as soon as a log line holds ``marker``;
    returns the exit code and the lines that are not TensorFlow's or absl's logs."""
    process = subprocess.Popen([sys.executable, os.path.join(ROOT, "main.py"), *args],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               cwd=ROOT)
    seen = []
    for line in process.stdout:
        seen.append(line.rstrip("\n"))
        if marker in line:
            process.send_signal(signum)
            break
    rest, _ = process.communicate(timeout=300)
    seen += rest.splitlines()
    return process.returncode, [line for line in seen if not line.startswith(OWN)]


def test_sigterm_while_the_first_step_traces_is_one_line_and_exit_143(tmp_path):
    run = tmp_path / "run"
    # The run's start line comes just before the first (tracing) step.
    code, lines = _signalled([*TINY_SEARCH, f"--output_dir={run}"], "search of the micro space",
                             signal.SIGTERM)
    assert code == 143, lines
    assert lines[-1] == "stopped by SIGTERM: no epoch finished yet, so a rerun starts over."
    assert not any("Traceback" in line for line in lines)


def test_sigint_after_an_epoch_keeps_its_checkpoint_and_the_rerun_resumes(tmp_path):
    run = tmp_path / "run"
    args = [*TINY_SEARCH, "--num_epochs=2", f"--output_dir={run}"]
    code, lines = _signalled(args, "epoch 2/2 shared weights step 1/4", signal.SIGINT)
    assert code == 130, lines
    assert lines[-1] == (f"stopped by SIGINT: the last good checkpoint is {run}/checkpoints/"
                         "ckpt-1 (epoch 1); rerun the same command to resume.")
    resumed = subprocess.run([sys.executable, os.path.join(ROOT, "main.py"), *args],
                             capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert [r["epoch"] for r in json.load(open(run / "history.json"))] == [1, 2]
