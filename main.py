"""enas-tf command line.

    python main.py --flagfile=flags/cifar_micro.cfg         # ENAS micro search
    python main.py --flagfile=flags/cifar_micro_final.cfg   # train an architecture
    python main.py --flagfile=flags/cifar_darts.cfg         # DARTS search (first order)
    python main.py --mode=draw --arc_file=runs/x/derived_arc.json   # picture of one

Every field of ``SearchConfig`` (``--mode=search``), ``FinalConfig`` (``--mode=final``)
and ``DrawConfig`` (``--mode=draw``) is a flag of the same name. A flag left unset takes the mode's own
default, so the two modes can have different official defaults. Flags are read here only
and handed to the library as one config object.
"""

from __future__ import annotations

import dataclasses
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")

from absl import app, flags, logging  # noqa: E402

from enas_tf.config import DrawConfig, FinalConfig, SearchConfig  # noqa: E402

HELP = {
    "search_space": "What is searched or trained: micro (ENAS cells, official defaults of "
                    "the micro scripts), macro (an ENAS whole network), darts (the DARTS "
                    "cell space), darts_frc (its normal cell, with GDAS's fixed reduction "
                    "cell), nb201 (the NAS-Bench-201 cell) or rnn (the ENAS recurrent cell, "
                    "language modelling); unset flags take that space's official settings.",
    "strategy": "Search: how architectures are chosen: enas (a REINFORCE controller "
                "samples one per step), darts (softmax-weighted architecture weights "
                "learned by gradient on the validation split), gdas (one hard Gumbel "
                "sample of the architecture weights per step, only its ops run) or random "
                "(uniformly random architectures on the shared weights, the baseline).",
    "tau_max": "GDAS: Gumbel-softmax temperature of the first epoch.",
    "tau_min": "GDAS: temperature of the last epoch (linear in between).",
    "benchmark_file": "Search (nb201): a NAS-Bench-201 results file to look the derived cell "
                      "up in: the official NAS-Bench-201 .pth / NATS-Bench tss file (needs "
                      "nas_201_api or nats_bench installed) or a JSON/CSV table "
                      "(enas_tf.lookup).",
    "benchmark_dataset": "Search: the benchmark data set whose accuracies are looked up "
                         "(cifar10, cifar10-valid, cifar100, ImageNet16-120).",
    "arch_lr": "DARTS, GDAS: Adam learning rate of the architecture weights.",
    "arch_weight_decay": "DARTS: coupled weight decay of the architecture weights.",
    "arch_beta1": "DARTS: Adam beta1 of the architecture weights.",
    "arch_beta2": "DARTS: Adam beta2 of the architecture weights.",
    "unrolled": "DARTS: second-order architecture gradient (a virtual weight step and a "
                "finite-difference Hessian-vector product); off: first order.",
    "num_branches": "Macro: the first N of the ops conv3x3, sep3x3, conv5x5, sep5x5, avgpool, "
                    "maxpool are allowed (search 6, final 4).",
    "skip_target": "Macro controller: the skip probability the skip penalty pulls towards.",
    "skip_weight": "Macro controller: weight of the skip penalty (KL to skip_target) in the "
                   "loss; 0 disables.",
    "hidden_size": "Recurrent space: hidden (= embedding) size of the language model.",
    "bptt": "Recurrent space: truncated-BPTT segment length.",
    "random_bptt": "Recurrent space: training segments of random length around bptt "
                   "(enas_lm); the learning rate scales with each segment's length.",
    "drop_word": "Recurrent space: drop rate of whole embedding rows (words).",
    "drop_embedding": "Recurrent space: variational drop rate of the embedded inputs.",
    "drop_cell_input": "Recurrent space: variational drop rate of x_t inside the cell.",
    "drop_hidden": "Recurrent space: variational drop rate of h_{t-1} and every node's "
                   "input inside the cell.",
    "drop_output": "Recurrent space: variational drop rate of the cell outputs before "
                   "the tied softmax.",
    "activation_reg": "Recurrent space: weight of mean(h_t^2) in the loss.",
    "slowness_reg": "Recurrent space: weight of mean((h_t - h_{t-1})^2) in the loss.",
    "init_range": "Recurrent space: weights start uniform in [-init_range, init_range].",
    "asgd_patience": "Final recurrent: averaged SGD starts once the validation perplexity "
                     "is worse than the best of the epochs before the last N.",
    "sep_as_conv": "Final macro: build the separable ops as plain convolutions, as the "
                   "official final network did (its published size).",
    "dataset": "Data set: cifar10 (TFDS) or digits (offline, bundled with scikit-learn) "
               "for the image spaces; ptb (Penn Treebank text files in --data_dir) or "
               "python_docs (offline text: the Python documentation) for rnn.",
    "data_dir": "TFDS data directory holding cifar10 (default: ~/tensorflow_datasets); for "
                "ptb, the directory of ptb.train.txt, ptb.valid.txt and ptb.test.txt.",
    "download": "Let TFDS download CIFAR-10 when it is absent.",
    "num_valid": "Training images held out as a validation split (the controller's, in "
                 "search; final training uses none by default).",
    "num_layers": "Official child_num_layers: micro networks have num_layers + 2 cells, "
                  "macro networks num_layers layers.",
    "num_nodes": "Searched nodes per cell (B - 2).",
    "filters": "Channels C of the first stage (stem has 3C; doubles at each reduction).",
    "keep_prob": "Dropout keep probability before the classifier.",
    "aux_weight": "Auxiliary-head loss weight; 0 removes the auxiliary head.",
    "batch_size": "Global batch size (split across replicas).",
    "num_epochs": "Search epochs (one shared-weight pass plus one controller phase each).",
    "steps_per_epoch": "Shared-weight steps per epoch (default: one pass over the train split).",
    "l2_reg": "L2 coefficient on every supernet weight (loss += l2_reg * sum(w^2)).",
    "lr_max": "Cosine-restart maximum learning rate.",
    "lr_min": "Cosine-restart minimum learning rate.",
    "lr_t0": "Epochs of the first cosine period.",
    "lr_t_mul": "Period multiplier at each restart.",
    "momentum": "Momentum of the weights' SGD.",
    "nesterov": "Nesterov momentum (official ENAS); off: plain momentum (DARTS).",
    "grad_bound": "Gradient norm clip of the weights' SGD; 0 disables.",
    "grad_clip": "What grad_bound clips: per_variable (each variable's norm, official ENAS) "
                 "or global (the norm of all gradients together, DARTS).",
    "weight_decay": "Coupled weight decay of the weights' SGD, added to the gradient as in "
                    "PyTorch (DARTS); ENAS uses l2_reg in the loss instead.",
    "lstm_size": "Controller LSTM units.",
    "tanh_constant": "Controller logits become tanh_constant * tanh(logits).",
    "op_tanh_reduce": "Op logits use tanh_constant / op_tanh_reduce.",
    "temperature": "Controller logits are divided by this first; 0 disables.",
    "controller_lr": "Controller Adam learning rate.",
    "entropy_weight": "Weight of the policy entropy added to the reward.",
    "baseline_decay": "Decay of the reward moving-average baseline.",
    "controller_train_steps": "Controller updates per epoch.",
    "controller_num_aggregate": "Sampled architectures averaged per controller update.",
    "derive_num_samples": "Architectures sampled and scored when deriving the result.",
    "derive_random_samples": "Uniformly random architectures scored on the same shared "
                             "weights when deriving, to compare the result against.",
    "weight_sharing": "Supernet weight layout: official (sep-conv weights per input node, a "
                      "cell-output kernel per node) or compact (one weight set per op for "
                      "every input node, one cell-output kernel; learns about twice as fast "
                      "under sampled wiring).",
    "restart": "Remove what an earlier run wrote in --output_dir (checkpoints, logs, "
               "results) and start over; without it a rerun resumes.",
    "deterministic": "TensorFlow op determinism: the same seed gives the same run, also "
                     "across a kill and resume (slower on GPUs).",
    "verbose": "1: progress bars with rate and ETA and one line per epoch; 0: log lines "
               "only.",
    "output_dir": "Where TensorBoard logs, checkpoints and the derived architecture go; "
                  "rerunning with the same directory resumes.",
    "seed": "Random seed.",
    "arc": "Final/draw: the architecture as an integer string; for darts also DARTS's "
           "Genotype(...) notation or a published name (DARTS_V1, DARTS_V2, GDAS_V1). "
           "Default: the space's published architecture (ENAS's; DARTS_V2; for a macro "
           "network of fewer than 24 layers, its first num_layers layers).",
    "arc_file": "Final/draw: a file holding the architecture: the derived_arc.json a search "
                "writes, its readable JSON, or the integer string.",
    "output_file": "Draw: the PNG to write (default: the architecture file's name with "
                   ".png, else architecture.png).",
    "drop_path_keep_prob": "Final: drop-path keep probability of the last cell at the end "
                           "of training (ramps with depth and progress).",
    "cutout": "Final: side of the cutout square in pixels; 0 disables.",
    "export_savedmodel": "Final: also write the trained model as a TensorFlow SavedModel "
                         "(output_dir/savedmodel) that serves without enas-tf: raw uint8 "
                         "images in, probabilities out (language models: token ids in).",
    "eval_every": "Final: evaluate on the test split every this many epochs.",
    "log_every": "Log the training loss every this many steps.",
    "max_checkpoints": "Checkpoints kept.",
    "num_devices": "Replicas on this machine (MirroredStrategy): the first N GPUs, or "
                   "without GPUs the CPU split into N logical devices.",
    "devices": "Comma-separated devices to mirror over (e.g. /gpu:0,/gpu:2); overrides "
               "--num_devices.",
    "multi_worker": "One replica per worker of the TF_CONFIG cluster "
                    "(MultiWorkerMirroredStrategy); start the same command on every worker.",
    "jit_compile": "Compile the train step with XLA.",
    "data_parallel_calls": "Parallel calls of the tf.data augmentation map; -1 autotunes.",
    "data_prefetch": "Batches tf.data prepares ahead of the step; -1 autotunes.",
    "data_threads": "Size of a private tf.data thread pool; 0 uses TensorFlow's shared pool.",
}


MODES = {"search": SearchConfig, "final": FinalConfig, "draw": DrawConfig}


def _define_flags() -> None:
    seen = set()
    for config_class in MODES.values():
        for field in dataclasses.fields(config_class):
            if field.name in seen:
                continue
            seen.add(field.name)
            default, help_text = field.default, HELP[field.name]
            if field.name in SearchConfig.field_names() and field.name in FinalConfig.field_names():
                final_default = getattr(FinalConfig, field.name)
                if final_default != default:
                    help_text += f" (default: {default} in search, {final_default} in final)"
            choices = {**SearchConfig.CHOICES, **FinalConfig.CHOICES}.get(field.name)
            if choices and field.type == "str":
                flags.DEFINE_enum(field.name, default, list(choices), help_text)
            elif field.type in ("bool",):
                flags.DEFINE_bool(field.name, default, help_text)
            elif field.type in ("int", "int | None"):
                flags.DEFINE_integer(field.name, default, help_text)
            elif field.type == "float":
                flags.DEFINE_float(field.name, default, help_text)
            else:
                flags.DEFINE_string(field.name, default, help_text)


_define_flags()
flags.DEFINE_enum("mode", "search", list(MODES), "search: ENAS search; final: train "
                  "one architecture from scratch; draw: write a PNG of one architecture.")
flags.DEFINE_bool("summary_only", False, "Final: print the model's parameter count and "
                  "multiply-adds, then exit without loading data or training.")
FLAGS = flags.FLAGS


def config_from_flags() -> SearchConfig | FinalConfig:
    """The one place flags become configuration: the mode's config with the flags given."""
    config_class = MODES[FLAGS.mode]
    fields = set(config_class.field_names())
    other = sorted({name for cls in MODES.values() for name in cls.field_names()} - fields)
    misplaced = [name for name in other if FLAGS[name].present]
    if misplaced:
        raise ValueError(f"--{misplaced[0]} does not apply to --mode={FLAGS.mode}.")
    values = {name: FLAGS[name].value for name in fields if FLAGS[name].present}
    return config_class.for_space(FLAGS.search_space, **values).validate()


def run_search(config: SearchConfig, data, strategy) -> None:
    from enas_tf.training.derive import describe_benchmark, describe_search_facts
    from enas_tf.training.search import ARC_FILE, ARC_PICTURE, Search

    search = Search(config, data, strategy)
    result = search.run()
    print(f"derived architecture: {result['architecture']['enas_string']}")
    notation = search.search_space.notation(result["arc"])
    if notation != result["architecture"]["enas_string"]:
        print(f"in the space's notation: {notation}")
    name = search.metric.name
    print(f"validation {name} of the derived architecture (shared weights): "
          f"{result[f'valid_{name}']:.4f}")
    for line in describe_search_facts(result["search_facts"]):
        print(line)
    if "benchmark" in result:
        print(describe_benchmark(result["benchmark"]))
    print(f"written: {os.path.join(config.output_dir, ARC_FILE)}, "
          f"{os.path.join(config.output_dir, ARC_PICTURE)}", flush=True)


def print_model_facts(facts: dict[str, int], space, arc) -> None:
    print(f"architecture: {' '.join(space.to_string(arc).split())}")
    if space.notation(arc) != space.to_string(arc):
        print(f"in the space's notation: {space.notation(arc)}")
    with_aux = facts["parameters_with_aux_head"]
    print(f"trainable parameters: {facts['parameters']:,}" + (
        f" without the auxiliary head (as the official code counts), {with_aux:,} with it"
        if with_aux != facts["parameters"] else ""))
    unit = "image" if "multiply_adds_per_image" in facts else "token"
    print(f"multiply-adds per {unit}: {facts[f'multiply_adds_per_{unit}']:,}", flush=True)


def print_as_published(config, arc, num_classes: int, image_shape) -> None:
    """For macro architectures with separable ops: the size of the network as the
    official final code built it (separable ops as plain convs)."""
    import dataclasses

    from enas_tf.export import build_final_model
    from enas_tf.models.summary import describe_model

    if config.search_space != "macro" or config.sep_as_conv:
        return
    model = build_final_model(arc, dataclasses.replace(config, sep_as_conv=True), num_classes,
                              image_shape)
    facts = describe_model(model, image_shape)
    print(f"as the official final code built it (separable ops as plain convs, "
          f"--sep_as_conv): {facts['parameters']:,} trainable parameters, "
          f"{facts['multiply_adds_per_image']:,} multiply-adds per image", flush=True)


def run_final(config: FinalConfig, arc, data, strategy) -> None:
    from enas_tf.training import make_final_training

    training = make_final_training(config, arc, data, strategy)
    print_model_facts(training.facts, training.model.search_space, arc)
    result = training.run()
    if "test_perplexity" in result:
        print(f"valid perplexity: {result['valid_perplexity']:.2f}")
        print(f"test perplexity: {result['test_perplexity']:.2f}")
    else:
        print(f"test accuracy: {result['test_accuracy']:.4f}")
    print(f"model: {result['model_file']}")
    if "savedmodel" in result:
        print(f"SavedModel: {result['savedmodel']}")


def draw(config: DrawConfig) -> int:
    from enas_tf.components import get_components
    from enas_tf.export import load_architecture, settings_in_file
    from enas_tf.search_spaces.pictures import save_png

    if config.arc_file:  # the file's own space settings, unless given as flags
        recorded = settings_in_file(config.arc_file)
        config = DrawConfig(**{**config.to_dict(), **{
            key: value for key, value in recorded.items() if not FLAGS[key].present}})

    space = get_components(config.search_space).make_space(config)
    arc = load_architecture(space, config.arc, config.arc_file)
    title = config.arc_file or (f"published ENAS {config.search_space} architecture"
                                if config.arc is None else "")
    path = save_png(space.draw(arc, title), config.picture_path())
    print(f"drew {space.to_string(arc)} to {path}")
    return 0


# Exit codes: the command or its inputs cannot be used (flags, files, data, saved state,
# a busy directory), before any training; the run started and failed; a signal stopped it.
BAD_INPUT, RUN_FAILED = 2, 1


def usage_error(message: str) -> int:
    """A bad flag: its message on one line and where help is, never the whole help."""
    print(f"error: {message} (--helpshort lists the flags)", file=sys.stderr)
    return BAD_INPUT


def parse_flags(argv: list[str]) -> list[str]:
    """absl's parser, its errors as one ``usage_error`` line (exit 2) instead of two
    ``FATAL`` lines (exit 1)."""
    try:
        return FLAGS(argv)
    except flags.Error as error:
        sys.exit(usage_error(str(error)))


def stopped(stop, config) -> int:
    """The one line of a run stopped by SIGTERM or SIGINT; its exit code (143, 130)."""
    from enas_tf.training.safety import last_checkpoint_phrase, latest_checkpoint

    output_dir = getattr(config, "output_dir", None)
    if output_dir and os.path.isdir(output_dir):
        resume = "; rerun the same command to resume" if latest_checkpoint(output_dir) else ""
        print(f"stopped by {stop}: {last_checkpoint_phrase(output_dir)}{resume}.",
              file=sys.stderr)
    else:
        print(f"stopped by {stop}.", file=sys.stderr)
    return stop.exit_code


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        return usage_error(f"unexpected arguments: {' '.join(argv[1:])}")
    try:
        config = config_from_flags()
        if FLAGS.summary_only and FLAGS.mode != "final":
            raise ValueError("--summary_only applies to --mode=final.")
    except ValueError as error:
        return usage_error(str(error))
    logging.set_verbosity(logging.INFO)

    # Heavy imports only after the flags are known to be good.
    from enas_tf.components import get_components
    from enas_tf.data import DATASET_SHAPES, DataNotFoundError, load_dataset
    from enas_tf.distribute import make_strategy
    from enas_tf.export import build_final_model, load_architecture
    from enas_tf.training.platform import describe_platform, determinism_refusal
    from enas_tf.training.safety import DiskFullError, NonFiniteError, is_disk_full
    from enas_tf.training.signals import StopRequested, stop_on_signals, stop_requested

    stop_on_signals()
    logging.info("machine: %s", describe_platform())

    try:
        if FLAGS.mode == "draw":
            return draw(config)
        # First, while TensorFlow can still split the CPU into logical devices.
        strategy = None
        if not FLAGS.summary_only:
            strategy = make_strategy(config.num_devices, config.device_list(),
                                     config.multi_worker)
        arc = None
        if FLAGS.mode == "final":
            space = get_components(config.search_space).make_space(config)
            arc = load_architecture(space, config.arc, config.arc_file)
            if FLAGS.summary_only:
                from enas_tf.models.summary import describe_model

                image_shape, num_classes = DATASET_SHAPES[config.dataset]
                model = build_final_model(arc, config, num_classes, image_shape)
                print_model_facts(describe_model(model, image_shape), model.search_space, arc)
                print_as_published(config, arc, num_classes, image_shape)
                return 0
        data = load_dataset(config.dataset, config.data_dir, config.num_valid, config.download,
                            config.seed)
        if FLAGS.mode == "final":
            run_final(config, arc, data, strategy)
        else:
            run_search(config, data, strategy)
    except StopRequested as stop:
        return stopped(stop, config)
    except (DataNotFoundError, FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return BAD_INPUT
    except (NonFiniteError, DiskFullError) as error:
        print(f"error: {error}", file=sys.stderr)
        return RUN_FAILED
    except Exception as error:
        if stop_requested() is not None:  # TensorFlow failed as the signal came
            return stopped(StopRequested(stop_requested()), config)
        if is_disk_full(error):  # outside the loops (data preparation, export)
            print(f"error: no space left on the device: {str(error).splitlines()[0]}",
                  file=sys.stderr)
            return RUN_FAILED
        refusal = (determinism_refusal(error) if getattr(config, "deterministic", False)
                   else None)  # DrawConfig has no such flag
        if refusal is None:
            raise
        print(f"error: {refusal}", file=sys.stderr)
        return RUN_FAILED
    return 0

if __name__ == "__main__":
    app.run(main, flags_parser=parse_flags)
