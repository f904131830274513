"""What a run says about its machine, and TensorFlow's determinism refusals as one line."""

import subprocess
import sys

import tensorflow as tf

from enas_tf.training.platform import (cpu_model, describe_platform, determinism_refusal,
                                       onednn_enabled)


def test_describe_platform_names_the_kernel_path_this_process_runs():
    line = describe_platform()
    assert line.startswith(cpu_model()) and f"TF {tf.__version__}" in line
    assert f"oneDNN: {'on' if onednn_enabled() else 'off'}" in line


def test_the_switch_sets_the_kernel_path():
    probe = ("from enas_tf.training.platform import onednn_enabled; "
             "print(onednn_enabled())")
    for value, expected in (("0", "False"), ("1", "True")):
        out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                             env={"TF_ENABLE_ONEDNN_OPTS": value, "PATH": ""}, check=True)
        assert out.stdout.strip().splitlines()[-1] == expected


def test_a_refused_op_under_determinism_becomes_one_line_naming_the_flag():
    # A real refusal, in a fresh interpreter (op determinism cannot be switched off again).
    probe = ("import tensorflow as tf\n"
             "tf.config.experimental.enable_op_determinism()\n"
             "try:\n    tf.random.uniform([2])\n"
             "except Exception as error:\n    print(repr(str(error)))\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True)
    message = eval(out.stdout.strip().splitlines()[-1])  # the repr printed above
    line = determinism_refusal(RuntimeError(message))
    assert "\n" not in line and line.startswith("--deterministic:")
    assert "Random ops require a seed" in line and "without --deterministic" in line
    unimplemented = tf.errors.UnimplementedError(
        None, None, "A deterministic implementation of Foo is not available.\nstack...")
    assert "Foo" in determinism_refusal(unimplemented)
    assert determinism_refusal(tf.errors.InternalError(None, None, "out of memory")) is None


def test_every_benchmark_prints_the_machine_and_kernel_path():
    import ast
    import os

    root = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "benchmarks")
    for name in sorted(os.listdir(root)):
        if not name.endswith(".py") or name == "common.py":
            continue
        with open(os.path.join(root, name)) as f:
            tree = ast.parse(f.read())
        main = next((node for node in tree.body
                     if isinstance(node, ast.FunctionDef) and node.name == "main"), None)
        if main is None:  # a helper module of the scripts (darts_reference.py), not a script
            assert "__main__" not in ast.unparse(tree), name
            continue
        assert "print(f'machine: {describe_platform()}'" in ast.unparse(main), name
