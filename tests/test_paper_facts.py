"""Paper facts as assertions: parameter counts, depths, layer names, FLOPs.

Parameter counts are at the paper's configuration (default input, 1000
classes for ImageNet models). Keras counts BatchNorm moving mean/variance as
non-trainable weights; torchvision does not count them as parameters, so the
ResNet comparisons use ``trainable_params``. Full-size models are built as
graphs without allocating their weights (``symbolic.py``): each is built once
per session, and none is run.
"""

from __future__ import annotations

import pytest
import symbolic

import zoo


@pytest.mark.parametrize(
    "name, params",
    [
        ("vgg11", 132_863_336),  # A
        ("vgg11_lrn", 132_863_336),  # A-LRN
        ("vgg13", 133_047_848),  # B
        ("vgg16_c", 133_638_952),  # C
        ("vgg16", 138_357_544),  # D
        ("vgg19", 143_667_240),  # E
        ("vgg_a", 132_863_336),  # aliases resolve to the same models
        ("vgg_e", 143_667_240),
    ],
)
def test_vgg_table1_parameter_counts(name, params):
    info = symbolic.model_info(name)
    assert info["params"] == info["trainable_params"] == params


@pytest.mark.parametrize(
    "name, torchvision_params",
    [
        ("resnet18", 11_689_512),
        ("resnet34", 21_797_672),
        ("resnet50", 25_557_032),
        ("resnet101", 44_549_160),
        ("resnet152", 60_192_808),
    ],
)
def test_imagenet_resnets_match_torchvision_trainable_counts(name, torchvision_params):
    info = symbolic.model_info(name)
    assert info["trainable_params"] == torchvision_params


@pytest.mark.parametrize(
    "name, millions, conv_layers",
    [("resnet20", 0.27, 19), ("resnet32", 0.46, 31), ("resnet44", 0.66, 43),
     ("resnet56", 0.85, 55), ("resnet110", 1.7, 109)],
)  # fmt: skip
def test_cifar_resnets_section_4_2(name, millions, conv_layers):
    import keras

    info = symbolic.model_info(name)
    model = info["model"]
    assert info["trainable_params"] / 1e6 == pytest.approx(
        millions, abs=0.01 if millions < 1 else 0.05
    )
    # 6n+2 weight layers: 6n+1 convolutions (no projection convs: option A) + the classifier.
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert len(convs) == conv_layers
    assert model.input_shape[1:] == (32, 32, 3) and model.output_shape[-1] == 10


def test_lenet5_modern_form():
    info = symbolic.model_info("lenet5")
    assert info["params"] == 61_706
    model = info["model"]
    names = [layer.name for layer in model.layers]
    for layer in ("c1", "s2", "c3", "s4", "c5", "f6", "predictions"):
        assert layer in names
    assert model.get_layer("c1").output.shape[1:] == (28, 28, 6)
    assert model.get_layer("s4").output.shape[1:] == (5, 5, 16)
    assert model.get_layer("c5").output.shape[1:] == (1, 1, 120)


def test_googlenet_table1():
    info = symbolic.model_info("googlenet")
    assert 6.8e6 <= info["params"] <= 7.0e6
    model = info["model"]
    assert model.get_layer("inception_3a_concat").output.shape[1:] == (28, 28, 256)
    assert model.get_layer("inception_4e_concat").output.shape[1:] == (14, 14, 832)
    assert model.get_layer("inception_5b_concat").output.shape[1:] == (7, 7, 1024)


def test_googlenet_aux_heads_train_and_drop():
    from zoo.models.inception import AUX_LOSS_WEIGHTS, without_aux

    model = symbolic.graph("googlenet", aux_logits=True, num_classes=5, input_shape=(96, 96, 3))
    assert [t.shape[-1] for t in model.outputs] == [5, 5, 5]
    assert AUX_LOSS_WEIGHTS == (1.0, 0.3, 0.3)
    inference = without_aux(model)
    assert len(inference.outputs) == 1
    assert inference.count_params() < model.count_params()
    with pytest.raises(ValueError, match="aux_logits"):
        zoo.build_model("googlenet", aux_logits=True, input_shape=(64, 64, 3))


def test_alexnet_grouped_and_single_tower():
    assert symbolic.model_info("alexnet")["params"] == 60_965_224
    assert symbolic.model_info("alexnet", grouped=False)["params"] == 62_378_344
    model = symbolic.graph("alexnet")
    assert model.get_layer("conv1_pool").output.shape[1:] == (27, 27, 96)
    assert model.get_layer("conv5_pool").output.shape[1:] == (6, 6, 256)
    assert model.get_layer("conv2").groups == 2 and model.get_layer("conv3").groups == 1


@pytest.mark.parametrize(
    "name, gmacs",
    [("vgg16", 15.5), ("resnet50", 4.1), ("resnet18", 1.8), ("alexnet", 0.72), ("googlenet", 1.5)],
)
def test_flops_match_the_literature(name, gmacs):
    assert symbolic.model_info(name)["flops"] / 1e9 == pytest.approx(gmacs, rel=0.06)


def test_resnet_stride_placement_v1_and_v1_5():
    """v1.5 (default) strides the 3x3 conv; ``stride_on="1x1"`` is the paper's 3.8 GFLOPs model."""
    v15 = symbolic.graph("resnet50", input_shape=(64, 64, 3))
    v1 = symbolic.graph("resnet50", input_shape=(64, 64, 3), stride_on="1x1")
    assert v15.get_layer("stage2_unit1_conv1").strides == (1, 1)
    assert v15.get_layer("stage2_unit1_conv2").strides == (2, 2)
    assert v1.get_layer("stage2_unit1_conv1").strides == (2, 2)
    assert v1.get_layer("stage2_unit1_conv2").strides == (1, 1)
    assert v1.count_params() == v15.count_params()
    assert symbolic.model_info("resnet50", stride_on="1x1")["flops"] / 1e9 == pytest.approx(
        3.86, abs=0.01
    )
    assert symbolic.model_info("resnet50")["flops"] / 1e9 == pytest.approx(4.09, abs=0.01)
    with pytest.raises(ValueError, match="stride_on must be"):
        zoo.build_model("resnet50", stride_on="3x1")


def test_deterministic_block_names():
    vgg16_c = symbolic.graph("vgg16_c", input_shape=(32, 32, 3))
    vgg = [layer.name for layer in vgg16_c.layers]
    assert "block3_conv3" in vgg and "block5_pool" in vgg and vgg[-1] == "predictions"
    assert vgg16_c.get_layer("block3_conv3").kernel_size == (1, 1)
    res = [layer.name for layer in symbolic.graph("resnet50", input_shape=(32, 32, 3)).layers]
    assert "stage4_unit3_conv3" in res and "stage2_unit1_shortcut" in res
    assert "stage1_unit2_shortcut" not in res  # identity shortcut inside a stage
    assert "block1_lrn" in [
        layer.name for layer in symbolic.graph("vgg11_lrn", input_shape=(32, 32, 3)).layers
    ]


def test_registry_errors():
    with pytest.raises(zoo.UnknownModelError, match="Did you mean .*'resnet50'"):
        zoo.build_model("resnet05")
    assert issubclass(zoo.UnknownModelError, ValueError)
    from zoo.registry import register_model

    with pytest.raises(ValueError, match="already registered"):

        @register_model(
            family="x", input_shape=(1,), min_input_shape=(1,), paper="", description=""
        )
        def vgg16(o):
            pass


def test_list_models_wildcards_and_natural_sort():
    assert zoo.list_models("resnet1*") == ["resnet18", "resnet101", "resnet110", "resnet152"]
    assert zoo.list_models(family="resnet_cifar") == [
        "resnet20",
        "resnet32",
        "resnet44",
        "resnet56",
        "resnet110",
    ]
    assert "vgg11_lrn" not in zoo.list_models("vgg*", exclude="*lrn")
    assert "inception_v1" in zoo.list_models(aliases=True)
    assert zoo.get_spec("inception_v1").name == "googlenet"


@pytest.mark.parametrize("depth", [18, 34, 20, 56])
def test_plain_nets_are_resnets_without_shortcuts(depth):
    """He et al. 2016, Table 2 / Fig. 6: the same layers, no shortcut, no addition."""
    plain = symbolic.graph(f"plain{depth}")
    res = symbolic.graph(f"resnet{depth}")
    assert plain.name == f"plain{depth}"
    assert not any(type(layer).__name__ == "Add" for layer in plain.layers)
    kept = [n.name for n in res.layers if "_shortcut" not in n.name and not n.name.endswith("_add")]
    assert [layer.name for layer in plain.layers] == kept
    projections = sum(
        layer.count_params() for layer in res.layers if "_shortcut" in layer.name
    )  # option-B projections on ImageNet; option A (CIFAR) has no parameters
    assert plain.count_params() == res.count_params() - projections
    if depth in (20, 56):
        assert projections == 0 and plain.count_params() == res.count_params()
    else:
        assert projections == 175_616  # 64->128, 128->256, 256->512 1x1 conv + BN


def test_residual_option_builds_the_plain_net():
    a = symbolic.graph("resnet20", residual=False)
    assert [layer.name for layer in a.layers] == [
        layer.name for layer in symbolic.graph("plain20").layers
    ]
