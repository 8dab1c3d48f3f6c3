"""Blocks of a backbone by layer name; freezing and unfreezing them.

Blocks are found from the deterministic layer names: ``block5_``,
``stage3_unit2_``, ``inception_5b_`` in the zoo; ``conv5_block3_``,
``block_16_``, ``block6a_``, ``mixed9`` in ``keras.applications``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

HEAD_LAYERS = ("head_pool", "head_dropout", "predictions")

# (pattern, closes): ``closes`` marks a name that ends its block (InceptionV3's
# ``mixedN`` concatenations follow their auto-named convolutions).
_BLOCK_PATTERNS = tuple(
    (re.compile(p, re.IGNORECASE), closes)
    for p, closes in (
        (r"^(stage\d+_unit\d+)(?:_|$)", False),  # zoo ResNet
        (r"^(conv\d+_block\d+)(?:_|$)", False),  # keras ResNet, DenseNet
        (r"^(inception_\d+[a-z])(?:_|$)", False),  # zoo GoogLeNet
        (r"^(block\d+_\d+)(?:_|$)", False),  # InceptionResNetV2 block35_1
        (r"^(block_?\d+[a-z]?)(?:_|$)", False),  # VGG, Xception, MobileNetV2, EfficientNet
        (r"^(mixed_?\d+)(?:_|$)", True),  # InceptionV3
        (r"^(expanded_conv)(?:_|$)", False),  # MobileNet(V2/V3) first block
        (r"^(stem|top)(?:_|$)", False),  # EfficientNet
        (r"^(conv_?\d+)(?:_|$)", False),  # zoo conv1/conv2, keras conv1_conv, Conv_1
        (r"^(?:bn_)?(conv_?\d+)$", False),  # MobileNetV2 bn_Conv1
        (r"^(pool\d+)(?:_|$)", False),  # DenseNet transitions
        (r"^([cs]\d+)(?:_|$)", False),  # LeNet-5 c1/s2
        (r"^(dense\d+|fc\d+)(?:_|$)", False),  # MLP, VGG/AlexNet fc
    )
)


def _block_key(name: str) -> tuple[str | None, bool]:
    for pattern, closes in _BLOCK_PATTERNS:
        match = pattern.match(name)
        if match:
            return match.group(1), closes
    return None, False


# ---------------------------------------------------------- freeze/unfreeze
def _is_batch_norm(layer) -> bool:
    import keras

    return isinstance(layer, keras.layers.BatchNormalization)


def backbone_blocks(model, layer_names: Sequence[str] | None = None) -> list[tuple[str, list]]:
    """Groups a model's layers into blocks by name prefix, bottom to top.

    Args:
        model: the model.
        layer_names: only these layers (e.g. the backbone's); default: all
            but the inputs and the head (`HEAD_LAYERS`).

    Returns:
        ``[(block name, [layers])]`` in graph order. Layers without a block
        name join the block before them (the ``"stem"`` before the first);
        with InceptionV3-style names (``mixedN`` closing a block) they join
        the block after. Blocks without weights merge into the previous one.
    """
    import keras

    keep = None if layer_names is None else set(layer_names)
    layers = [
        layer
        for layer in model.layers
        if not isinstance(layer, keras.layers.InputLayer)
        and (layer.name in keep if keep is not None else layer.name not in HEAD_LAYERS)
    ]
    keys = [_block_key(layer.name) for layer in layers]
    closing = any(closes for _, closes in keys)
    blocks: list[list] = []
    pending: list = []
    for layer, (key, _closes) in zip(layers, keys, strict=False):
        if key is None:
            if closing:
                pending.append(layer)
            elif blocks:
                blocks[-1][1].append(layer)
            else:
                blocks.append(["stem", [layer]])
            continue
        members = (pending if closing else []) + [layer]
        pending = [] if closing else pending
        if blocks and blocks[-1][0] == key:
            blocks[-1][1].extend(members)
        else:
            blocks.append([key, members])
    if pending:
        if blocks:
            blocks[-1][1].extend(pending)
        else:
            blocks.append(["stem", pending])
    merged: list[list] = []
    for key, members in blocks:
        if merged and not any(layer.weights for layer in members):
            merged[-1][1].extend(members)
        else:
            merged.append([key, members])
    if len(merged) > 1 and not any(layer.weights for layer in merged[0][1]):
        merged[1][1][:0] = merged[0][1]
        merged.pop(0)
    return [(key, members) for key, members in merged]


def freeze(model, layer_names: Sequence[str]) -> None:
    """Freezes the named layers (BatchNorm then runs in inference mode)."""
    names = set(layer_names)
    for layer in model.layers:
        if layer.name in names:
            layer.trainable = False


def unfreeze_top(model, layer_names: Sequence[str], unfreeze) -> list[str]:
    """Unfreezes the top of the backbone; BatchNorm layers stay frozen.

    Args:
        model: the model holding the backbone's layers.
        layer_names: the backbone's layer names.
        unfreeze: an int K (the top K blocks, see `backbone_blocks`),
            ``"all"``, or a layer-name prefix: every backbone layer from the
            first whose name starts with it, to the top (e.g. ``"block5_"``,
            ``"conv5_block3_"``, ``"mixed9"``).

    Returns:
        Names of the layers made trainable (BatchNorm excluded).

    Raises:
        ValueError: K beyond the number of blocks, or a prefix no layer has.
    """
    names = []
    for layer in check_unfreeze(model, layer_names, unfreeze):
        if _is_batch_norm(layer):
            layer.trainable = False
            continue
        layer.trainable = True
        if layer.weights:
            names.append(layer.name)
    return names


def check_unfreeze(model, layer_names: Sequence[str], unfreeze) -> list:
    """The layers ``unfreeze`` selects (see `unfreeze_top`), changing nothing.

    `zoo.transfer.fine_tune` calls it before phase 1, so that a bad value fails
    before any training.

    Raises:
        ValueError: K beyond the number of blocks (naming ``unfreeze`` /
            ``--unfreeze`` and the number of blocks), or a prefix no layer has.
    """
    blocks = backbone_blocks(model, layer_names)
    ordered = [layer for _, members in blocks for layer in members]
    if isinstance(unfreeze, bool) or not isinstance(unfreeze, (int, str)):
        raise ValueError(
            f"unfreeze must be a block count or a layer-name prefix; received {unfreeze!r}."
        )
    if isinstance(unfreeze, str) and unfreeze.isdigit():
        unfreeze = int(unfreeze)
    if isinstance(unfreeze, int):
        if unfreeze < 0 or unfreeze > len(blocks):
            raise ValueError(
                f"unfreeze={unfreeze} (--unfreeze {unfreeze}): the backbone has {len(blocks)} "
                f"blocks, groups of layers ({_block_list(blocks)}); choose 0..{len(blocks)}, "
                f"'all' or a layer-name prefix."
            )
        return [layer for _, members in blocks[len(blocks) - unfreeze :] for layer in members]
    if unfreeze == "all":
        return ordered
    start = next((i for i, layer in enumerate(ordered) if layer.name.startswith(unfreeze)), None)
    if start is None:
        raise ValueError(
            f"No backbone layer name starts with {unfreeze!r} (--unfreeze); blocks: "
            f"{_block_list(blocks)}."
        )
    return ordered[start:]


def _block_list(blocks) -> str:
    keys = [key for key, _ in blocks]
    if len(keys) > 12:
        keys = keys[:4] + ["..."] + keys[-6:]
    return ", ".join(keys)
