"""``zoo bench``: how fast a model trains or predicts on this machine."""

from __future__ import annotations

import click

from cli import params
from cli.aliases import ZooCommand
from cli.feedback import announce
from cli.params import user_errors


@click.command("bench", cls=ZooCommand)
@click.argument("name")
@params.batch_size_option(help="Images per step.", default=8, show_default=True)
@params.input_shape_option(help="Input shape H,W,C (default: the model's).")
@click.option(
    "--mode",
    type=click.Choice(["train", "infer"]),
    default="infer",
    show_default=True,
    help="Time a training step (forward, backward, update) or a forward pass.",
)
@click.option(
    "--steps", type=click.IntRange(min=1), default=10, show_default=True, help="Timed steps."
)
@click.option(
    "--warmup",
    type=click.IntRange(min=0),
    default=2,
    show_default=True,
    help="Untimed steps first (tracing and compilation).",
)
@params.num_classes_option(help="Classes of the head.")
@params.jit_compile_option()
@params.json_option()
def bench_cmd(
    name, batch_size, input_shape, mode, steps, warmup, num_classes, jit_compile, as_json
):
    """Benchmark NAME on random data: images/s, step time, FLOPs, peak memory.

    Runs in the backend chosen by KERAS_BACKEND (default tensorflow). Memory
    is the process peak RSS (ru_maxrss), so it includes the backend's buffers.
    """
    import json

    announce(f"{name}, {mode}, batch size {batch_size}", quiet=as_json)
    from zoo.bench import benchmark_model, format_result

    with user_errors():
        result = benchmark_model(
            name,
            batch_size=batch_size,
            input_shape=input_shape,
            mode=mode,
            steps=steps,
            warmup=warmup,
            num_classes=num_classes,
            jit_compile=params.jit_compile_value(jit_compile),
        )
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        click.echo(format_result(result))
