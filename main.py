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
from enas_tf.options import allowed_choices  # noqa: E402
from enas_tf.options import help_text as help_text_of  # noqa: E402

MODES = {"search": SearchConfig, "final": FinalConfig, "draw": DrawConfig}


def _define_flags() -> None:
    """One flag per config field, its help and choices read from the field's metadata
    (``enas_tf.options.option``), declared by the part that owns the setting."""
    seen = set()
    for mode, config_class in MODES.items():
        for field in dataclasses.fields(config_class):
            if field.name in seen:
                continue
            seen.add(field.name)
            default, help_text = field.default, help_text_of(field)
            defaults = {m: getattr(c, field.name) for m, c in MODES.items()
                        if field.name in c.field_names()}
            if len(set(map(repr, defaults.values()))) > 1:
                help_text += " (default: " + ", ".join(
                    f"{value} in {m}" for m, value in defaults.items()) + ")"
            choices = allowed_choices(field)
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
    from enas_tf.loops.derive import describe_benchmark, describe_search_facts
    from enas_tf.loops.search import ARC_FILE, ARC_PICTURE, Search

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
    """The size of the network as the official final code built it, where the space
    says that differs (``SpaceComponents.as_published``: macro's separable ops as plain
    convs)."""
    from enas_tf.components import get_components
    from enas_tf.export import build_final_model
    from enas_tf.models.summary import describe_model

    published = get_components(config.search_space).as_published(config)
    if published is None:
        return
    published_config, words = published
    model = build_final_model(arc, published_config, num_classes, image_shape)
    facts = describe_model(model, image_shape)
    print(f"{words}: {facts['parameters']:,} trainable parameters, "
          f"{facts['multiply_adds_per_image']:,} multiply-adds per image", flush=True)


def run_final(config: FinalConfig, arc, data, strategy) -> None:
    from enas_tf.loops import make_final_training

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
    from enas_tf.data import DataNotFoundError, load_dataset, resolve_dataset
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

                source = resolve_dataset(config.dataset)
                image_shape, num_classes = source.shape(source.request(config.data_dir))
                if image_shape is not None:  # a space refuses images it cannot reduce
                    get_components(config.search_space).input_sizes(config).check(
                        config.search_space, image_shape)
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
