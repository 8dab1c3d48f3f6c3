"""The options the ``zoo`` commands share: one spelling and one meaning each.

Every command that takes one of these options takes it from here, so
``--resume RUN_DIR`` or ``--learning-rate`` cannot drift apart between
commands. Old spellings stay working as hidden aliases (`cli.aliases`).
Nothing here imports Keras.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Callable

import click

from cli.aliases import alias_option, deprecation
from cli.saved_models_opt import saved_models_option  # noqa: F401  (the commands' option)
from zoo.constants import OPTIMIZERS

DATA_HELP = (
    "Image folder, .npz file, tfds:NAME, 'mnist-sample' or 'cifar10-sample' "
    "(the shipped MNIST / CIFAR-10 samples)."
)
#: What the option factories return: a decorator adding options to a click command.
Decorator = Callable[[Callable], Callable]
#: Value of a bare ``--resume`` (the old flag form): the run in ``--run-dir``.
RESUME_IN_RUN_DIR = "\0resume-in-run-dir"


class ShapeType(click.ParamType):
    """An input shape written ``H,W,C`` or ``HxWxC`` (e.g. ``224,224,3``)."""

    name = "H,W,C"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        parts = str(value).replace("x", ",").replace("X", ",").split(",")
        try:
            shape = tuple(int(p) for p in parts if p.strip())
        except ValueError:
            self.fail(f"{value!r} is not a shape like 224,224,3.", param, ctx)
        if not shape or any(d <= 0 for d in shape):
            self.fail(f"{value!r}: every dimension must be a positive integer.", param, ctx)
        return shape


SHAPE = ShapeType()


def debug_enabled() -> bool:
    """``zoo --debug`` or ``ZOO_DEBUG=1``: show tracebacks instead of one-line errors."""
    if os.environ.get("ZOO_DEBUG", "").strip().lower() not in ("", "0", "false", "no"):
        return True
    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.find_root().meta.get("zoo.debug"))


@contextlib.contextmanager
def user_errors():
    """Turns the toolkit's ValueErrors and missing files into one-line CLI errors.

    With `debug_enabled` the error propagates with its traceback.
    """
    try:
        yield
    except (ValueError, FileNotFoundError, PermissionError, IsADirectoryError) as err:
        if debug_enabled():
            raise
        raise click.ClickException(first_line(err) or type(err).__name__) from None


def first_line(err: BaseException) -> str:
    """The line of ``err``'s message that says what is wrong (ANSI codes removed).

    Keras' layer errors open with ``Exception encountered when calling ...``
    and give the reason on a later line; that reason is taken instead.
    """
    import re

    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line).strip() for line in str(err).splitlines()]
    lines = [line for line in lines if line]
    if len(lines) > 1 and lines[0].startswith("Exception encountered when calling"):
        return f"{lines[1]} ({lines[0].rstrip('.')})"
    return lines[0] if lines else ""


def model_kwargs(input_shape=None, num_classes=None, **extra) -> dict:
    """Builder kwargs from CLI options, leaving out those not given."""
    kwargs = {k: v for k, v in extra.items() if v is not None}
    if input_shape is not None:
        kwargs["input_shape"] = input_shape
    if num_classes is not None:
        kwargs["num_classes"] = num_classes
    return kwargs


def _stack(*decorators) -> Decorator:
    """One decorator applying ``decorators`` (the first ends up first in ``--help``)."""

    def apply(fn):
        for decorator in reversed(decorators):
            fn = decorator(fn)
        return fn

    return apply


# --- data and model -------------------------------------------------------------------


def data_option(
    default: str | None = None, required: bool = False, help: str = DATA_HELP
) -> Decorator:
    """``--data``: what to train or evaluate on."""
    suffix = f" [default: {default}]" if default else ""
    return click.option("--data", default=default, required=required, help=help + suffix)


def input_shape_option(help: str = "Model input shape H,W,C (default: the paper's).") -> Decorator:
    """``--input-shape H,W,C``: the builder's ``input_shape``."""
    return click.option("--input-shape", type=SHAPE, help=help)


def num_classes_option(help: str = "Number of classes (the builder's num_classes).") -> Decorator:
    """``--num-classes``: the builder's ``num_classes``."""
    return click.option("--num-classes", type=click.IntRange(min=1), help=help)


MODEL_ARG_HELP = (
    "Builder argument KEY=VALUE, repeatable; VALUE is JSON or a string (e.g. dropout=0.3, "
    "kernel_l2=1e-4, hidden_units=[256,128]). kernel_l2 is the builder's own L2 kernel "
    "penalty (formerly weight_decay)."
)


def model_arg_option() -> Decorator:
    """``--model-arg KEY=VALUE`` (repeatable): builder arguments; see `parse_model_args`."""
    return click.option("--model-arg", multiple=True, metavar="KEY=VALUE", help=MODEL_ARG_HELP)


def parse_model_args(pairs) -> dict:
    """``{KEY: VALUE}`` from ``--model-arg`` values, VALUE parsed as JSON when it is JSON.

    Raises:
        click.BadParameter: a pair without ``=``.
    """
    kwargs = {}
    for pair in pairs:
        if "=" not in pair:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE.", param_hint="--model-arg")
        key, raw = pair.split("=", 1)
        try:
            kwargs[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            kwargs[key.strip()] = raw
    return kwargs


WEIGHTS_HELP = "'default' (the backbone's pretrained weights), 'none', 'imagenet' (or 'imagenet:keras', 'imagenet:torchvision[-v1|-v2]'), a file or a checkpoint name."


def weights_option(help: str = WEIGHTS_HELP) -> Decorator:
    """``--weights``: which weights a backbone starts from."""
    return click.option("--weights", default="default", show_default=True, help=help)


def alpha_option() -> Decorator:
    """``--alpha``: width multiplier of MobileNet backbones."""
    return click.option("--alpha", type=float, help="Width multiplier of MobileNet backbones.")


# --- training settings (TrainConfig fields) ---------------------------------------------


def config_option(
    help: str = "TrainConfig as JSON/YAML; the flags given override it.",
) -> Decorator:
    """``--config FILE``: a base TrainConfig."""
    return click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
                        help=help)  # fmt: skip


def epochs_option(help: str = "Epochs (TrainConfig.epochs).", **attrs) -> Decorator:
    """``--epochs``: TrainConfig.epochs."""
    attrs.setdefault("type", click.IntRange(min=1))
    return click.option("--epochs", help=help, **attrs)


def batch_size_option(help: str = "Batch size (TrainConfig.batch_size).", **attrs) -> Decorator:
    """``-b/--batch-size``: images per step."""
    attrs.setdefault("type", click.IntRange(min=1))
    return click.option("-b", "--batch-size", help=help, **attrs)


def learning_rate_option(
    help: str = "Learning rate (TrainConfig.learning_rate).", **attrs
) -> Decorator:
    """``--learning-rate`` (old spelling ``--lr`` kept as a hidden alias)."""
    attrs.setdefault("type", float)
    return _stack(
        click.option("--learning-rate", "learning_rate", help=help, **attrs),
        alias_option("--lr", of="learning_rate", use_instead="--learning-rate", type=attrs["type"]),
    )


def optimizer_option(help: str = "Optimizer (TrainConfig.optimizer).", **attrs) -> Decorator:
    """``--optimizer``: one of `zoo.constants.OPTIMIZERS`."""
    choice = click.Choice(OPTIMIZERS, case_sensitive=False)
    return click.option("--optimizer", type=choice, help=help, **attrs)


SEED_HELP = "Random seed of splits, shuffles and initialization (TrainConfig.seed)."


class SeedType(click.IntRange):
    """An int in range, or ``random``: a fresh seed drawn now (and so recorded)."""

    def convert(self, value, param, ctx):
        random = isinstance(value, str) and value.strip().lower() == "random"
        return secrets.randbelow(2**32) if random else super().convert(value, param, ctx)


#: A seed NumPy and every backend accept, or ``random``: refused at parse time otherwise.
SEED = SeedType(0, 2**32 - 1)


def seed_option(help: str = SEED_HELP, **attrs) -> Decorator:
    """``--seed``: an integer in [0, 2**32 - 1], or ``random`` (a fresh seed, recorded)."""
    attrs["type"] = SEED if attrs.get("type") in (None, int) else attrs["type"]
    return click.option("--seed", help=f"{help} 'random': a fresh seed, recorded.", **attrs)


def quiet_option() -> Decorator:
    """``--quiet``: no per-epoch progress."""
    return click.option("--quiet", is_flag=True, help="No per-epoch progress.")


# --- runs: where, resume, overwrite, publish ------------------------------------------


def run_dir_option(
    help: str = "Run directory: checkpoints, history, logs; what --resume continues.",
) -> Decorator:
    """``--run-dir``: where a run keeps its files."""
    return click.option("--run-dir", type=click.Path(file_okay=False), help=help)


def resume_option(what: str = "run", force: bool = True) -> Decorator:
    """``--resume RUN_DIR``: continue the ``what`` kept in RUN_DIR (after a kill).

    A bare ``--resume`` (the old flag form of finetune and tune) still works
    and continues the one in the command's directory option; `resolve_resume`
    sorts this out. ``force``: the command has ``--force`` to resume anyway.
    """
    unless = " unless --force" if force else ""
    return click.option(
        "--resume", metavar="RUN_DIR", is_flag=False, flag_value=RESUME_IN_RUN_DIR, default=None,
        help=f"Continue the {what} kept in RUN_DIR (after a kill); same arguments as the first "
        f"time{unless}.",
    )  # fmt: skip


def resolve_resume(
    resume: str | None, run_dir: str | None, where: str = "--run-dir", overwrite_run: bool = False
):
    """The run directory and whether to resume, from ``--resume`` and ``run_dir``.

    ``--resume RUN_DIR`` is the same as ``--run-dir RUN_DIR`` plus a bare
    ``--resume`` (the old spelling, which prints a deprecation line).

    Returns:
        ``(run_dir, resume)``: the directory (None when none was given) and a bool.

    Raises:
        click.UsageError: a bare ``--resume`` without ``where``, ``--resume``
            and ``where`` naming different directories, or ``--resume`` with
            ``--overwrite-run``.
    """
    if resume is not None and overwrite_run:
        raise click.UsageError("--resume and --overwrite-run are exclusive.")
    if resume is None:
        return run_dir, False
    if resume == RESUME_IN_RUN_DIR:
        if not run_dir:
            raise click.UsageError("--resume needs the run directory: --resume RUN_DIR.")
        deprecation(f"{where} DIR --resume", "--resume DIR")
        return run_dir, True
    if run_dir and os.path.normpath(run_dir) != os.path.normpath(resume):
        raise click.UsageError(
            f"--resume {resume} and {where} {run_dir} name different directories; give --resume "
            f"RUN_DIR alone."
        )
    return resume, True


def force_option() -> Decorator:
    """``--force``: resume even though something changed since the run started."""
    return click.option(
        "--force", is_flag=True, help="Resume even if the model, optimizer, config or data changed."
    )


def overwrite_run_option(what: str = "run", where: str = "--run-dir") -> Decorator:
    """``--overwrite-run``: start over where a ``what`` already is, replacing it."""
    return click.option(
        "--overwrite-run", is_flag=True,
        help=f"Start over in a {where} that already holds a {what}, replacing it "
        f"(without it, such a folder is refused; --resume continues it instead).",
    )  # fmt: skip


def save_as_option(what: str = "the final model") -> Decorator:
    """``--save-as NAME``: publish to ``NAME`` in the user checkpoint folder."""
    return click.option(
        "--save-as", metavar="NAME", help=f"Publish {what} as checkpoint NAME (see --saved-models)."
    )


def overwrite_saved_option() -> Decorator:
    """``--overwrite-saved``: let ``--save-as`` replace (or shadow a shipped) checkpoint NAME."""
    return click.option(
        "--overwrite-saved",
        is_flag=True,
        help="Let --save-as replace your checkpoint NAME, or shadow a shipped one of that name.",
    )


def output_option(help: str, required: bool = True, **attrs) -> Decorator:
    """``-o/--output``: the file or folder a command writes (``--out``, plot's old
    spelling, a hidden alias)."""
    return _stack(
        click.option("-o", "--output", required=required, help=help, **attrs),
        alias_option("--out", of="output", use_instead="--output", type=attrs.get("type")),
    )


def check_save_as(save_as: str | None, overwrite_saved: bool) -> None:
    """Refuses a bad ``--save-as`` name, or a taken one without ``--overwrite-saved``, before
    anything trains.

    Raises:
        ValueError: an invalid name, or ``saved_models/NAME`` exists and may not be replaced.
    """
    if not save_as:
        return
    from zoo import pretrained

    pretrained.check_name(save_as)
    if pretrained.exists(save_as) and not overwrite_saved:
        raise ValueError(
            f"Checkpoint {save_as!r} exists ({pretrained.model_path(save_as)}); pass "
            f"--overwrite-saved to publish yours in its place or choose another name."
        )


def json_option(to_file: bool = False) -> Decorator:
    """``--json``: print the result as JSON (with ``to_file``: ``--json FILE`` writes it there,
    a bare ``--json`` or ``--json -`` prints it)."""
    if not to_file:
        return click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
    return click.option(
        "--json", "json_path", metavar="[FILE]", is_flag=False, flag_value="-",
        type=click.Path(dir_okay=False, allow_dash=True),
        help="Write the full report as JSON to FILE; a bare --json (or '-') prints it instead.",
    )  # fmt: skip


JIT_HELP = "XLA compilation: true, false or auto (Keras' choice for the backend)."


def jit_compile_option(help: str = JIT_HELP, **attrs) -> Decorator:
    """``--jit-compile auto|true|false`` (see `jit_compile_value`); the old ``--jit`` /
    ``--no-jit`` of ``zoo bench`` are hidden aliases."""
    choice = click.Choice(["auto", "true", "false"])
    return _stack(
        click.option("--jit-compile", "jit_compile", type=choice, help=help, **attrs),
        alias_option(
            "--jit",
            of="jit_compile",
            use_instead="--jit-compile true",
            flag_value="true",
            is_flag=True,
        ),
        alias_option(
            "--no-jit",
            of="jit_compile",
            use_instead="--jit-compile false",
            flag_value="false",
            is_flag=True,
        ),
    )


def jit_compile_value(value: str | None):
    """``True``, ``False`` or ``"auto"`` from a ``--jit-compile`` value (None: ``"auto"``)."""
    return {"true": True, "false": False}.get(value or "auto", "auto")
