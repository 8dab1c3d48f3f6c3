"""ResNet-50 training throughput on one GPU, bfloat16: zoo (JAX) vs torchvision.

Contenders, all in one process, on the same GPU, batch and 224x224 input,
SGD (momentum 0.9, weight decay 1e-4) and softmax cross-entropy, with the
batch already on the GPU (the input pipeline is measured elsewhere):

- ``zoo-jax``: ``zoo.build_model("resnet50")`` (v1.5: stride on the 3x3 conv, as
  torchvision's) under Keras' ``mixed_bfloat16`` policy, trained by the step Keras' JAX trainer itself runs: a jitted
  ``stateless_call`` + ``value_and_grad`` + ``optimizer.stateless_apply``,
  with the model, optimizer and batch-norm state donated between steps;
- ``zoo-jax-v1``: ``stride_on="1x1"``, the paper's variant that
  ``keras.applications`` builds (6 % fewer multiply-adds), the same way;
- ``keras-apps-jax``: ``keras.applications.ResNet50(weights=None)``, the same way;
- ``torch-compile``: ``torchvision.models.resnet50()``, channels-last,
  ``torch.compile`` and ``torch.autocast(bfloat16)`` (the issue's reference);
- ``torch-eager``: the same without ``torch.compile``.

Each contender is compiled and warmed up, then timed in turns (A, B, C, ...)
``--repeats`` times over ``--steps`` steps, each timing closed by a device
synchronization; images/s = batch x steps / median time.

Needs a CUDA GPU with JAX and (for the torch contenders) PyTorch+torchvision;
TensorFlow is not needed. Run: python benchmarks/bench_gpu_resnet50.py [--json out.json]
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")  # JAX and torch share the GPU

import importlib.util
import time

import _common  # noqa: F401  (sys.path)
from _common import interleaved, parser, print_table, report

COMMAND = "python benchmarks/bench_gpu_resnet50.py"


def _jax_contender(build, batch: int, steps: int):
    """A step function that runs ``steps`` jitted Keras training steps on GPU."""
    from functools import partial

    import jax
    import keras

    model = build()
    optimizer = keras.optimizers.SGD(learning_rate=0.1, momentum=0.9, weight_decay=1e-4)
    optimizer.build(model.trainable_variables)
    loss_fn = keras.losses.SparseCategoricalCrossentropy()

    def loss_and_state(trainable, non_trainable, x, y):
        pred, non_trainable = model.stateless_call(trainable, non_trainable, x, training=True)
        return loss_fn(y, pred), non_trainable

    grad_fn = jax.value_and_grad(loss_and_state, has_aux=True)

    @partial(jax.jit, donate_argnums=(0, 1, 2))
    def train_step(trainable, non_trainable, opt_vars, x, y):
        (loss, non_trainable), grads = grad_fn(trainable, non_trainable, x, y)
        trainable, opt_vars = optimizer.stateless_apply(opt_vars, grads, trainable)
        return trainable, non_trainable, opt_vars, loss

    key = jax.random.PRNGKey(0)
    x = jax.random.normal(key, (batch, 224, 224, 3), "float32")
    y = jax.random.randint(key, (batch,), 0, 1000)
    state = [
        [v.value for v in model.trainable_variables],
        [v.value for v in model.non_trainable_variables],
        [v.value for v in optimizer.variables],
    ]

    def run():
        loss = None
        for _ in range(steps):
            state[0], state[1], state[2], loss = train_step(*state, x, y)
        loss.block_until_ready()
        if not bool(jax.numpy.isfinite(loss)):
            raise FloatingPointError("non-finite loss")

    return run, model.count_params()


def _torch_contender(batch: int, steps: int, compiled: bool):
    import torch
    import torchvision

    torch.backends.cudnn.benchmark = True
    model = torchvision.models.resnet50().cuda().to(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    net = torch.compile(model) if compiled else model
    gen = torch.Generator(device="cuda").manual_seed(0)
    x = torch.randn(batch, 3, 224, 224, device="cuda", generator=gen).to(
        memory_format=torch.channels_last
    )
    y = torch.randint(0, 1000, (batch,), device="cuda", generator=gen)
    loss_fn = torch.nn.CrossEntropyLoss()

    def run():
        loss = None
        for _ in range(steps):
            with torch.autocast("cuda", dtype=torch.bfloat16):
                loss = loss_fn(net(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        torch.cuda.synchronize()
        if not torch.isfinite(loss):
            raise FloatingPointError("non-finite loss")

    return run, sum(p.numel() for p in model.parameters())


def main(argv=None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--steps", type=int, default=20, help="Steps per timed repeat.")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument(
        "--contenders",
        default="zoo-jax,zoo-jax-v1,keras-apps-jax,torch-compile,torch-eager",
        help="Comma-separated subset to run.",
    )
    args = p.parse_args(argv)
    batch, steps, repeats = args.batch_size, args.steps, args.repeats
    if args.quick:
        batch, steps, repeats = 8, 2, 2
    wanted = [c.strip() for c in args.contenders.split(",") if c.strip()]

    if importlib.util.find_spec("jax") is None:
        print("skipped: JAX is not installed (pip install -e .[bench]).")
        report("gpu_resnet50", {"command": COMMAND, "skipped": "JAX not installed"}, args.json)
        return 0
    import keras

    if keras.backend.backend() != "jax":
        print(
            f"bench_gpu_resnet50 runs under KERAS_BACKEND=jax; this is {keras.backend.backend()!r}."
        )
        return 2
    import jax

    if jax.default_backend() != "gpu":
        print(f"skipped: no GPU visible to JAX (default backend {jax.default_backend()!r}).")
        report("gpu_resnet50", {"command": COMMAND, "skipped": "no GPU visible to JAX"}, args.json)
        return 0
    import zoo

    keras.config.set_dtype_policy("mixed_bfloat16")
    builders = {
        "zoo-jax": lambda: zoo.build_model("resnet50"),
        "zoo-jax-v1": lambda: zoo.build_model("resnet50", stride_on="1x1"),
        "keras-apps-jax": lambda: keras.applications.ResNet50(weights=None),
    }
    has_torch = importlib.util.find_spec("torch") and importlib.util.find_spec("torchvision")
    contenders, params, skipped, compile_s = {}, {}, {}, {}
    for name in wanted:
        start = time.perf_counter()
        if name in builders:
            contenders[name], params[name] = _jax_contender(builders[name], batch, steps)
        elif name.startswith("torch-"):
            if not has_torch:
                skipped[name] = "PyTorch/torchvision not installed"
                continue
            contenders[name], params[name] = _torch_contender(batch, steps, name == "torch-compile")
        else:
            print(
                f"unknown contender {name!r}; choose from zoo-jax, zoo-jax-v1, keras-apps-jax, torch-compile, torch-eager"
            )
            return 2
        compile_s[name] = time.perf_counter() - start
    timings = interleaved(contenders, repeats=repeats, warmup=2)
    results = {}
    for name, t in timings.items():
        results[name] = {
            **t,
            "images_per_s": batch * steps / t["median_s"],
            "params": int(params[name]),
            "warmup_first_s": t["first_s"],
        }
    ref = results.get("torch-compile", {}).get("images_per_s")
    rows = []
    for name, r in results.items():
        ratio = f"{r['images_per_s'] / ref:.2f}" if ref else "-"
        rows.append([name, f"{r['images_per_s']:.0f}", f"{r['median_s'] / steps * 1e3:.1f} ms",
                     f"{r['params']:,}", f"{r['warmup_first_s']:.0f} s", ratio])  # fmt: skip
    print_table(rows, ("contender", "images/s", "step", "params", "first call", "vs torch-compile"))
    devices = [str(d) for d in jax.devices()]
    out = {"command": COMMAND + (" --quick" if args.quick else ""), "batch_size": batch, "steps": steps, "repeats": repeats, "dtype": "bfloat16",
           "devices": devices, "results": results, "skipped": skipped}  # fmt: skip
    report("gpu_resnet50", out, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
