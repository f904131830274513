"""The command line rejects bad input with a one-line reason, never a traceback."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(*args):
    return subprocess.run([sys.executable, os.path.join(ROOT, "main.py"), *args],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)


@pytest.mark.parametrize("args, message", [
    (["--filters=3"], "filters must be an even number >= 2"),
    (["--dataset=mnist"], "value should be one of <cifar10|digits>"),
    (["--lr_min=1.0"], "need 0 < lr_min <= lr_max"),
    (["--flagfile=flags/does_not_exist.cfg"], "does_not_exist.cfg"),
])
def test_bad_flags_fail_fast_with_a_clear_message(args, message):
    result = _run(*args)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_data_dir_is_reported_without_traceback(tmp_path):
    result = _run("--dataset=cifar10", f"--data_dir={tmp_path}/absent", "--nodownload",
                  f"--output_dir={tmp_path}/out")
    assert result.returncode == 1
    assert "error: data directory" in result.stderr and "does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_flag_files_parse_to_valid_configs():
    for name in ("cifar_micro.cfg", "quickstart_micro.cfg"):
        result = subprocess.run(
            [sys.executable, "-c",
             "import sys; sys.argv=['main.py', '--flagfile=flags/" + name + "'];"
             "import main; main.FLAGS(sys.argv); print(main.config_from_flags())"],
            capture_output=True, text=True, cwd=ROOT, timeout=120)
        assert result.returncode == 0, result.stderr
        assert "SearchConfig(" in result.stdout
