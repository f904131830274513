"""The command line rejects bad input with a one-line reason, never a traceback."""

import json
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
    (["--dataset=mnist"], "unknown dataset 'mnist'; choose cifar10, cifar100, digits, "
     "imagenet16-120, imagenet2012, nb201:cifar10-valid, nb201:cifar100, "
     "nb201:ImageNet16-120, ptb, wikitext2, python_docs, or tfds:NAME, npz:PATH, text:DIR."),
    (["--dataset=npz"], "unknown dataset 'npz'"),
    (["--lr_min=1.0"], "need 0 <= lr_min <= lr_max"),
    (["--flagfile=flags/does_not_exist.cfg"], "does_not_exist.cfg"),
    (["--mode=final", "--controller_lr=0.1"], "--controller_lr does not apply to --mode=final"),
    (["--cutout=4"], "--cutout does not apply to --mode=search"),
    (["--summary_only"], "--summary_only applies to --mode=final"),
    (["--mode=final", "--arc=0 1 2", "--summary_only"], "must have 40 integers, got 3"),
    (["--mode=final", "--arc_file=/absent/arc.json", "--summary_only"],
     "architecture file /absent/arc.json does not exist"),
    (["--mode=final", "--drop_path_keep_prob=0"], "drop_path_keep_prob must be in (0, 1]"),
    (["--num_devices=3", "--batch_size=16"], "batch_size=16 does not split evenly over 3"),
    (["--multi_worker", "--num_devices=2"], "multi_worker runs one replica per worker"),
    (["--data_prefetch=-5"], "data_prefetch must be -1 (autotune) or a count"),
    (["--dataset=digits", "--num_valid=300", "--devices=/gpu:5"], "unknown device '/gpu:5'"),
    (["--weight_sharing=per_op"], "value should be one of <official|compact>"),
    (["--verbose=2"], "verbose must be one of 0, 1, got 2"),
    (["--derive_random_samples=0"], "derive_random_samples must be >= 1"),
    (["--mode=draw", "--arc=0 1 2"], "must have 40 integers, got 3"),
    (["--mode=draw", "--arc_file=/absent/arc.json"], "architecture file /absent/arc.json"),
    (["--mode=draw", "--dataset=digits"], "--dataset does not apply to --mode=draw"),
    (["--search_space=cells"], "value should be one of <micro|macro|darts|darts_frc|nb201|rnn>"),
    (["--strategy=bohb"], "value should be one of <enas|darts|gdas|random>"),
    (["--strategy=gdas"], "strategy gdas does not search the micro space"),
    (["--search_space=darts_frc", "--filters=6"], "filters must be a multiple of 4"),
    (["--search_space=nb201", "--tau_min=0"], "need 0 < tau_min <= tau_max"),
    (["--search_space=nb201", "--benchmark_file=/absent/nb201.pth"],
     "benchmark_file /absent/nb201.pth does not exist"),
    (["--search_space=nb201", "--mode=final", "--summary_only", "--arc=|nor_conv_3x3~1|+"],
     "architecture string needs 3 node groups"),
    (["--search_space=darts", "--strategy=enas"], "strategy enas does not search the darts"),
    (["--strategy=darts"], "strategy darts does not search the micro space"),
    (["--unrolled"], "unrolled (the second-order gradient) applies to strategy darts"),
    (["--search_space=darts", "--mode=final", "--arc=DARTS_V3", "--summary_only"],
     "unknown genotype name 'DARTS_V3'; known: DARTS_V1, DARTS_V2, GDAS_V1, GDAS_F1"),
    (["--search_space=darts", "--mode=final", "--summary_only",
      "--arc=Genotype(normal=[('sep_conv_3x3', 7)])"], "genotype 'normal' needs 8"),
    (["--search_space=darts", "--grad_clip=both"], "value should be one of <per_variable|global>"),
    (["--search_space=macro", "--aux_weight=0.4"], "the macro network has no auxiliary head"),
    (["--search_space=macro", "--num_branches=7"], "num_branches must be in [1, 6]"),
    (["--search_space=macro", "--skip_target=1.5"], "skip_target must be in (0, 1)"),
    (["--search_space=macro", "--mode=final", "--num_layers=30", "--summary_only"],
     "the published macro architecture needs num_layers=24 or fewer"),
    (["--search_space=macro", "--mode=final", "--arc=0 1", "--num_layers=3", "--summary_only"],
     "macro architecture must have 6 integers, got 2"),
    (["--search_space=rnn", "--dataset=digits"],
     "the rnn space runs on text (ptb, wikitext2, python_docs, text:DIR), not digits."),
    (["--dataset=ptb"], "the micro space runs on images (cifar10, cifar100, digits, "
     "imagenet16-120, imagenet2012, nb201:cifar10-valid, nb201:cifar100, nb201:ImageNet16-120, "
     "tfds:NAME, npz:PATH), not ptb."),
    (["--search_space=rnn", "--dataset=npz:x.npz"], "the rnn space runs on text"),
    (["--search_space=rnn", "--dataset=python_docs", "--num_devices=2"],
     "the rnn space runs on one device"),
    (["--search_space=rnn", "--dataset=python_docs", "--drop_hidden=1.0"],
     "drop_hidden must be in [0, 1)"),
    (["--search_space=rnn", "--mode=final", "--summary_only", "--num_nodes=2", "--arc=0 2 3 0"],
     "position 2 (node2/input): 3 is out of range [0, 1]"),
    (["--search_space=rnn", "--mode=final", "--summary_only", "--num_nodes=9"],
     "the published rnn architecture needs num_nodes=8"),
    (["--search_space=macro", "--mode=final", "--sep_as_conv", "--mode=search"],
     "--sep_as_conv does not apply to --mode=search"),
])
def test_bad_flags_fail_fast_with_a_clear_message(args, message):
    result = _run(*args)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_data_dir_is_reported_without_traceback(tmp_path):
    result = _run("--dataset=cifar10", f"--data_dir={tmp_path}/absent", "--nodownload",
                  f"--output_dir={tmp_path}/out")
    assert result.returncode == 2
    assert "error: data directory" in result.stderr and "does not exist" in result.stderr
    assert "Traceback" not in result.stderr


FLAG_FILES = (
    ("cifar_micro.cfg", "SearchConfig("),
    ("quickstart_micro.cfg", "SearchConfig("),
    ("cifar_micro_final.cfg", "FinalConfig("),
    ("quickstart_micro_final.cfg", "FinalConfig("),
    ("cifar_macro.cfg", "SearchConfig(search_space='macro'"),
    ("quickstart_macro.cfg", "SearchConfig(search_space='macro'"),
    ("cifar_macro_final.cfg", "FinalConfig(search_space='macro'"),
    ("quickstart_macro_final.cfg", "FinalConfig(search_space='macro'"),
    ("cifar_darts.cfg", "SearchConfig(search_space='darts'"),
    ("cifar_darts_2nd.cfg", "unrolled=True"),
    ("quickstart_darts.cfg", "strategy='darts'"),
    ("cifar_darts_final.cfg", "FinalConfig(search_space='darts'"),
    ("quickstart_darts_final.cfg", "FinalConfig(search_space='darts'"),
    ("cifar_gdas.cfg", "strategy='gdas'"),
    ("quickstart_gdas.cfg", "strategy='gdas'"),
    ("cifar_gdas_frc.cfg", "SearchConfig(search_space='darts_frc'"),
    ("cifar_gdas_frc_final.cfg", "FinalConfig(search_space='darts_frc'"),
    ("cifar_gdas_final.cfg", "lr_schedule='warmup_cosine'"),
    # Each strategy's NB201 settings come from the space's defaults.
    ("cifar_nb201_gdas.cfg", "num_epochs=250"),
    ("cifar_nb201_darts.cfg", "num_epochs=50"),
    ("cifar_nb201_darts_2nd.cfg", "unrolled=True"),
    ("cifar_nb201_enas.cfg", "lstm_size=32"),
    ("cifar_nb201_random.cfg", "strategy='random'"),
    ("cifar_nb201_final.cfg", "FinalConfig(search_space='nb201'"),
    # NAS-Bench-201 on its other data sets, with the benchmark's own splits.
    ("cifar100_nb201_gdas.cfg", "dataset='nb201:cifar100'"),
    ("cifar100_nb201_final.cfg", "dataset='nb201:cifar100'"),
    ("imagenet16_nb201_gdas.cfg", "dataset='nb201:ImageNet16-120'"),
    ("imagenet16_nb201_final.cfg", "dataset='nb201:ImageNet16-120'"),
    ("imagenet_darts_final.cfg", "darts_network='imagenet'"),
    ("wt2_final.cfg", "dataset='wikitext2'"),
    ("quickstart_nb201_gdas.cfg", "strategy='gdas'"),
    ("quickstart_nb201_darts.cfg", "strategy='darts'"),
    ("quickstart_nb201_enas.cfg", "temperature=5.0"),
    ("quickstart_nb201_random.cfg", "strategy='random'"),
    ("quickstart_nb201_final.cfg", "FinalConfig(search_space='nb201'"),
    ("ptb_search.cfg", "controller_lr=5e-05"),
    ("ptb_final.cfg", "hidden_size=800"),
    ("quickstart_rnn.cfg", "SearchConfig(search_space='rnn'"),
    ("quickstart_rnn_final.cfg", "FinalConfig(search_space='rnn'"),
    # DARTS and GDAS on the recurrent space, and DARTS's fixed-model settings.
    ("ptb_darts.cfg", "rnn_supernet='darts'"),
    ("ptb_darts_2nd.cfg", "unrolled=True"),
    ("ptb_gdas.cfg", "strategy='gdas'"),
    ("ptb_darts_final.cfg", "hidden_size=850"),
    ("quickstart_rnn_darts.cfg", "rnn_supernet='darts'"),
    ("quickstart_rnn_gdas.cfg", "strategy='gdas'"),
    ("quickstart_rnn_darts_final.cfg", "softmax_bias=True"),
)


def test_flag_files_parse_to_valid_configs():
    """Every flag file gives a valid config of its kind (one process parses them all)."""
    script = ("import json, sys, main\n"
              "for name in sys.argv[1:]:\n"
              "    main.FLAGS.unparse_flags()\n"
              "    main.FLAGS(['main.py', '--flagfile=flags/' + name])\n"
              "    config = main.config_from_flags()\n"
              "    values = json.dumps({**config.to_dict(), 'kind': type(config).__name__})\n"
              "    print(name, config, values, sep='\\t')\n")
    result = subprocess.run([sys.executable, "-c", script, *(name for name, _ in FLAG_FILES)],
                            capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = [line.split("\t") for line in result.stdout.splitlines()]
    configs = {name: shown for name, shown, _ in lines}
    for name, kind in FLAG_FILES:
        assert kind in configs[name], name
    # Every value every flag file gives, as recorded before the settings moved to their
    # owners (tests/data/flag_file_configs.json): a restructuring must not change them.
    with open(os.path.join(ROOT, "tests", "data", "flag_file_configs.json")) as f:
        recorded = json.load(f)
    parsed = {name: json.loads(values) for name, _, values in lines}
    assert set(recorded) == set(parsed)
    for name, values in recorded.items():
        assert parsed[name] == values, (name, {k: (v, parsed[name].get(k)) for k, v in
                                               values.items() if parsed[name].get(k) != v})
    tracked = {f for f in os.listdir(os.path.join(ROOT, "flags")) if f.endswith(".cfg")}
    assert tracked == {name for name, _ in FLAG_FILES}, "every flag file is checked"


def test_final_defaults_differ_from_search_defaults():
    script = ("import sys; sys.argv=['main.py', '--mode=final'];"
              "import main; main.FLAGS(sys.argv); c = main.config_from_flags();"
              "print(c.num_layers, c.filters, c.batch_size, c.num_epochs, c.l2_reg)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["15", "36", "144", "630", "0.0002"]


def test_summary_only_prints_parameters_and_multiply_adds():
    result = _run("--mode=final", "--dataset=digits", "--num_layers=1", "--filters=8",
                  "--aux_weight=0", "--summary_only")
    assert result.returncode == 0, result.stderr
    assert "parameters: " in result.stdout and "multiply-adds per image: " in result.stdout


def test_nb201_and_gdas_frc_summaries_count_the_published_cells():
    result = _run("--search_space=nb201", "--mode=final", "--summary_only")
    assert result.returncode == 0, result.stderr
    assert "trainable parameters: 559,386" in result.stdout
    assert "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|" in result.stdout
    result = _run("--search_space=darts_frc", "--mode=final", "--summary_only")
    assert result.returncode == 0, result.stderr
    assert "trainable parameters: 2,543,014 without the auxiliary head" in result.stdout
    assert "reduce=None" in result.stdout


def test_darts_v2_summary_counts_as_darts_does():
    """DARTS's train.py prints 3.349342 MB of parameters for DARTS_V2 (20 cells, C=36,
    the auxiliary head left out); the auxiliary head adds 476,426."""
    result = _run("--search_space=darts", "--mode=final", "--summary_only")
    assert result.returncode == 0, result.stderr
    assert ("trainable parameters: 3,349,342 without the auxiliary head (as the official code "
            "counts), 3,825,768 with it") in result.stdout
    assert ("in the space's notation: Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1)"
            in result.stdout)


def test_draw_takes_a_darts_genotype_by_name_or_in_darts_notation(tmp_path):
    from enas_tf.search_spaces.darts import PUBLISHED_GENOTYPES

    for name, arc in (("v1", "DARTS_V1"), ("gdas", PUBLISHED_GENOTYPES["GDAS_V1"])):
        out = tmp_path / f"{name}.png"
        result = _run("--mode=draw", "--search_space=darts", f"--arc={arc}",
                      f"--output_file={out}")
        assert result.returncode == 0, result.stderr
        assert out.read_bytes()[:4] == b"\x89PNG"


def test_draw_writes_a_picture_of_any_architecture(tmp_path):
    arc_file = tmp_path / "found.json"
    arc_file.write_text('{"architecture": {"enas_string": "%s"}}' % (
        "0 2 0 0 0 4 0 1 0 4 1 1 1 0 0 1 0 2 1 1 1 0 1 0 0 3 0 2 1 1 3 1 1 0 0 4 0 3 1 1"))
    result = _run("--mode=draw", f"--arc_file={arc_file}")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "found.png").read_bytes()[:4] == b"\x89PNG"
    assert f"to {tmp_path / 'found.png'}" in result.stdout
    result = _run("--mode=draw", f"--output_file={tmp_path / 'published.png'}")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "published.png").exists()


def test_macro_defaults_and_summary_of_the_published_network():
    script = ("import sys; sys.argv=['main.py', '--search_space=macro'];"
              "import main; main.FLAGS(sys.argv); c = main.config_from_flags();"
              "print(c.num_layers, c.filters, c.batch_size, c.num_epochs, c.tanh_constant)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["12", "36", "128", "310", "1.5"]
    result = _run("--search_space=macro", "--mode=final", "--dataset=digits", "--num_layers=6",
                  "--filters=8", "--summary_only")
    assert result.returncode == 0, result.stderr
    assert "parameters: " in result.stdout and "multiply-adds per image: " in result.stdout
    assert "as the official final code built it" in result.stdout  # it has separable ops


def test_draw_takes_the_space_from_the_architecture_file(tmp_path):
    from enas_tf.search_spaces.macro import MacroSearchSpace

    space = MacroSearchSpace(3)
    arc_file = tmp_path / "macro.json"
    arc_file.write_text(__import__("json").dumps({"architecture": space.to_json(
        (1,  3, 1,  5, 0, 1))}))
    result = _run("--mode=draw", f"--arc_file={arc_file}")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "macro.png").read_bytes()[:4] == b"\x89PNG"
