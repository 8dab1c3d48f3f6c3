"""Inception v3 (Szegedy et al. 2016), Table 1, as Google released it.

The network is a stem of plain convolutions and a table of modules, each a
tuple of branches fed to one module function (`inception_module`). A branch
is a sequence of steps: a convolution ``(filters, kernel)`` (stride 1,
``"same"``), a stride-2 ``"valid"`` convolution ``(filters, kernel, 2)``, an
expanded filter bank ``(filters, ((1, 3), (3, 1)))`` (two convolutions of the
same input, concatenated), or a 3x3 pooling (``"avg"``: stride 1, ``"same"``;
``"max"``: stride 2, ``"valid"``). The modules are those of the paper's figures:

- ``5b``-``5d``, the 35x35 modules of Fig. 5 (the 5x5 convolution factorized
  into two 3x3s), with 32, 64, 64 pool projections;
- ``6a`` and ``7a``, the grid-size reductions of Fig. 10 (stride-2 convolutions
  beside a stride-2 max-pool);
- ``6b``-``6e``, the 17x17 modules of Fig. 6 with the 7x7 convolution factorized
  into 1x7 and 7x1 (n = 7), 128, 160, 160, 192 filters inside;
- ``7b``-``7c``, the 8x8 modules of Fig. 7 with expanded filter-bank outputs.

Where the paper is silent or its figures differ from the released model, the
zoo follows Google's released model (TF-slim's ``inception_v3``, which
``keras.applications.InceptionV3`` and torchvision's ``inception_v3`` port),
so its weights fit: the 35x35 modules keep a 5x5 branch beside the double
3x3 one, the branch pools are 3x3 averages, the stem (3x3/2, 3x3, padded 3x3,
max-pool, 1x1 with 80 filters, 3x3 with 192, max-pool) and the reductions'
stride-2 convolutions are ``"valid"`` (299 -> 149 -> 147 -> 147 -> 73 -> 73 ->
71 -> 35, Table 1's 35x35 grid), the others ``"same"``. The paper does not say
whether a branch average pool counts its zero padding: keras.applications
does not (``AveragePooling2D(3, 1, "same")``), torchvision does
(``count_include_pad=True``); ``pool_include_pad`` chooses, default keras'.
BatchNorm (epsilon 1e-3 in both references) follows every convolution, which
has no bias; ``bn_scale=False`` (keras.applications) learns no BatchNorm scale,
``True`` (torchvision) does. With the defaults the model has keras.applications'
23,851,784 parameters (Keras counts the BatchNorm moving statistics), under the
abstract's "less than 25 million". Dropout before the classifier is off
(keras.applications has none; torchvision uses 0.5, TF-slim 0.2; the paper's
Table 1 lists none).

``aux_logits=True`` adds the auxiliary classifier of Fig. 8 on the last
17x17 grid (after ``mixed_6e``), as released: 5x5/3 average pooling, a 1x1
convolution with 128 filters, a 5x5 ``"valid"`` convolution with 768 (the
figure's fully connected layer over the 5x5 map), global average pooling and
the ``aux`` classifier, BatchNorm throughout (Table 3's "BN-auxiliary"). The
model then has two outputs ``[predictions, aux]``, trained with loss weights
``AUX_LOSS_WEIGHTS`` (1, 0.4: TF-slim's; the paper gives none); it needs
299x299 inputs (a 17x17 grid).

Layer names follow torchvision's (``Conv2d_1a_3x3`` -> ``conv_1a``,
``Mixed_5b.branch5x5_1`` -> ``mixed_5b_5x5_1``, ``branch_pool`` ->
``mixed_5b_pool_proj``), each conv followed by ``_bn`` and ``_act``.

Reference:
    Szegedy, Vanhoucke, Ioffe, Shlens & Wojna, "Rethinking the Inception
    Architecture for Computer Vision", CVPR 2016 (arXiv:1512.00567).
"""

from __future__ import annotations

from zoo.options import InceptionV3Options
from zoo.registry import register_model

PAPER = "Szegedy et al. 2016, arXiv:1512.00567"
#: The BatchNorm epsilon of both references.
BN_EPSILON = 1e-3
#: Loss weights of ``[predictions, aux]`` (TF-slim's training script; the paper gives none).
AUX_LOSS_WEIGHTS = (1.0, 0.4)
AUX_AFTER = "6e"
#: The smallest input: the 8x8 grid becomes 1x1 (keras.applications' minimum too).
MIN_SIZE = 75
EXPAND = ((1, 3), (3, 1))

# The stem (Table 1's first seven rows): (name, filters, kernel, strides, padding) or a pool.
STEM = (
    ("conv_1a", 32, 3, 2, "valid"),
    ("conv_2a", 32, 3, 1, "valid"),
    ("conv_2b", 64, 3, 1, "same"),
    "pool1",
    ("conv_3b", 80, 1, 1, "valid"),
    ("conv_4a", 192, 3, 1, "valid"),
    "pool2",
)


def _module_a(pool_proj: int) -> tuple:
    """Fig. 5: 35x35 (with the released model's 5x5 branch)."""
    return (
        ("1x1", ((64, 1),)),
        ("5x5", ((48, 1), (64, 5))),
        ("3x3dbl", ((64, 1), (96, 3), (96, 3))),
        ("pool_proj", ("avg", (pool_proj, 1))),
    )


def _module_c(c7: int) -> tuple:
    """Fig. 6 with n = 7: 17x17, the 7x7 convolutions factorized into 1x7 and 7x1."""
    return (
        ("1x1", ((192, 1),)),
        ("7x7", ((c7, 1), (c7, (1, 7)), (192, (7, 1)))),
        ("7x7dbl", ((c7, 1), (c7, (7, 1)), (c7, (1, 7)), (c7, (7, 1)), (192, (1, 7)))),
        ("pool_proj", ("avg", (192, 1))),
    )


# Fig. 10: grid-size reductions 35 -> 17 and 17 -> 8.
REDUCTION_A = (
    ("3x3", ((384, 3, 2),)),
    ("3x3dbl", ((64, 1), (96, 3), (96, 3, 2))),
    ("pool", ("max",)),
)
REDUCTION_B = (
    ("3x3", ((192, 1), (320, 3, 2))),
    ("7x7x3", ((192, 1), (192, (1, 7)), (192, (7, 1)), (192, 3, 2))),
    ("pool", ("max",)),
)
# Fig. 7: 8x8 with expanded filter-bank outputs.
MODULE_E = (
    ("1x1", ((320, 1),)),
    ("3x3", ((384, 1), (384, EXPAND))),
    ("3x3dbl", ((448, 1), (384, 3), (384, EXPAND))),
    ("pool_proj", ("avg", (192, 1))),
)
# The released model's modules (3 at 35x35, a reduction, 4 at 17x17, a reduction, 2 at 8x8),
# keyed as TF-slim's and torchvision's ``Mixed_5b``...
MODULES = {
    "5b": _module_a(32),
    "5c": _module_a(64),
    "5d": _module_a(64),
    "6a": REDUCTION_A,
    "6b": _module_c(128),
    "6c": _module_c(160),
    "6d": _module_c(160),
    "6e": _module_c(192),
    "7a": REDUCTION_B,
    "7b": MODULE_E,
    "7c": MODULE_E,
}
__all__ = ["AUX_LOSS_WEIGHTS", "MODULES", "STEM", "conv_names", "inception_module", "inception_v3"]


def _conv_layer_names(prefix: str, steps) -> list:
    """The names of a branch's convolutions, in order (an expanded bank gives two)."""
    convs = [s for s in steps if not isinstance(s, str)]
    names = []
    for k, (_, kernel, *_) in enumerate(convs, start=1):
        label = prefix if len(convs) == 1 else f"{prefix}_{k}"
        names += [f"{label}a", f"{label}b"] if kernel == EXPAND else [label]
    return names


def conv_names() -> list[str]:
    """Every convolution's name in the order the references create them.

    keras.applications builds the same convolutions in this order (its layers are
    ``conv2d_1``, ``conv2d_2``... in the published files), so its k-th conv is the
    k-th name here; torchvision's modules are in this order too.
    """
    names = [step[0] for step in STEM if not isinstance(step, str)]
    for key, branches in MODULES.items():
        for branch, steps in branches:
            names += _conv_layer_names(f"mixed_{key}_{branch}", steps)
    return names


def _conv(x, filters, kernel, *, name: str, o, strides=1, padding="same"):
    """Conv2D (no bias under BatchNorm), BatchNorm (epsilon 1e-3), activation."""
    import keras

    from zoo import blocks

    x = keras.layers.Conv2D(
        filters,
        kernel,
        strides=strides,
        padding=padding,
        use_bias=not o.batch_norm,
        kernel_initializer=o.kernel_initializer,
        kernel_regularizer=blocks.regularizer(o.kernel_l2),
        name=name,
    )(x)
    if o.batch_norm:
        x = keras.layers.BatchNormalization(
            epsilon=BN_EPSILON, momentum=0.9, scale=o.bn_scale, name=f"{name}_bn"
        )(x)
    return blocks.apply_activation(x, o.activation, f"{name}_act")


def _pool(x, kind: str, *, name: str, o):
    """The branch pools: 3x3/1 average (``"same"``), or 3x3/2 max (``"valid"``)."""
    import keras

    if kind == "max":
        return keras.layers.MaxPooling2D(3, strides=2, name=name)(x)
    if o.pool_include_pad:  # torchvision's count_include_pad=True: the zeros count
        x = keras.layers.ZeroPadding2D(1, name=f"{name}_pad")(x)
        return keras.layers.AveragePooling2D(3, strides=1, padding="valid", name=name)(x)
    return keras.layers.AveragePooling2D(3, strides=1, padding="same", name=name)(x)


def _branch(x, steps, *, prefix: str, module: str, o):
    import keras

    names = iter(_conv_layer_names(prefix, steps))
    for step in steps:
        if isinstance(step, str):
            x = _pool(x, step, name=f"{module}_pool", o=o)
            continue
        filters, kernel, *stride = step
        if kernel == EXPAND:
            pair = [next(names), next(names)]  # {label}a, {label}b
            parts = [_conv(x, filters, k, name=n, o=o) for k, n in zip(kernel, pair, strict=True)]
            x = keras.layers.Concatenate(name=f"{pair[0][:-1]}_concat")(parts)
            continue
        s = stride[0] if stride else 1
        x = _conv(x, filters, kernel, name=next(names), o=o, strides=s,
                  padding="valid" if s > 1 else "same")  # fmt: skip
    return x


def inception_module(x, branches, *, name: str, o):
    """One module: its branches (a row of `MODULES`) concatenated on channels, ``{name}_concat``."""
    import keras

    outs = [_branch(x, steps, prefix=f"{name}_{b}", module=name, o=o) for b, steps in branches]
    return keras.layers.Concatenate(name=f"{name}_concat")(outs)


def _aux_head(x, *, o):
    """Fig. 8's auxiliary classifier as released (5x5/3 avg pool, 1x1x128, 5x5x768, classifier)."""
    import keras

    x = keras.layers.AveragePooling2D(5, strides=3, name="aux_pool")(x)
    x = _conv(x, 128, 1, name="aux_conv1", o=o)
    x = _conv(x, 768, 5, name="aux_conv2", o=o, padding="valid")
    x = keras.layers.GlobalAveragePooling2D(name="aux_gap")(x)
    act = None if o.classifier_activation in ("linear", "threshold") else o.classifier_activation
    return keras.layers.Dense(o.num_classes, activation=act, name="aux")(x)


@register_model(
    family="inception_v3",
    input_shape=(299, 299, 3),
    min_input_shape=(MIN_SIZE, MIN_SIZE, 3),
    paper=PAPER,
    description="Inception v3 (keras.applications' and torchvision's function); optional aux head",
    params=23_851_784,
    options=InceptionV3Options,
)
def inception_v3(o: InceptionV3Options):
    """Inception v3; options: `zoo.options.InceptionV3Options` (``aux_logits``, ``bn_scale``,
    ``pool_include_pad``).

    Reference:
        Szegedy et al., "Rethinking the Inception Architecture for Computer
        Vision", CVPR 2016 (arXiv:1512.00567), Table 1 and Figs. 5-8, 10.
    """
    import keras

    from zoo import blocks

    inputs = blocks.model_input(o)
    x = inputs
    for step in STEM:
        if isinstance(step, str):
            x = keras.layers.MaxPooling2D(3, strides=2, name=step)(x)
        else:
            name, filters, kernel, strides, padding = step
            x = _conv(x, filters, kernel, name=name, o=o, strides=strides, padding=padding)
    aux = None
    for key, branches in MODULES.items():
        x = inception_module(x, branches, name=f"mixed_{key}", o=o)
        if o.aux_logits and key == AUX_AFTER:
            aux = _aux_head(x, o=o)
    x = blocks.pooled_top(x, o)
    return blocks.finalize(
        inputs, [x, aux] if aux is not None else x, name=o.name or "inception_v3"
    )
