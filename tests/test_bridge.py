"""The keras.applications weight bridge: published ImageNet files into the zoo's own architectures.

Each reference is a live ``keras.applications`` model (weights=None, seeded,
with nonzero conv biases and BatchNorm statistics so bias folding and epsilon
matter). Its weights are written in the published Keras-2 HDF5 layouts (root
``layer_names``; per layer ``weight_names``: ``block1_conv1_W_1:0`` in the VGG
files, ``conv1_conv/kernel:0`` in the ResNet files, whose classifier is
``probs``); Keras' own legacy loader reads them back into the reference (so
the layout is one Keras reads), and the zoo model loads them through
`zoo.weights` offline. No network.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import shutil

import numpy as np
import pytest
from conftest import keras_dtype

#: zoo architecture -> (keras.applications name, zoo options the weights need)
ARCHS = {
    "vgg16": ("VGG16", {}),
    "vgg19": ("VGG19", {}),
    "resnet50": ("ResNet50", {"stride_on": "1x1"}),
    "resnet101": ("ResNet101", {"stride_on": "1x1"}),
    "resnet152": ("ResNet152", {"stride_on": "1x1"}),
}
SIZES = (64, 65)


def _published_name(layer, vgg: bool) -> str:
    """The ResNet files call their classifier ``probs`` (Keras loads them by order)."""
    return "probs" if (not vgg and layer.name == "predictions") else layer.name


def _weight_names(layer, vgg: bool) -> list[str]:
    """The published key names: Keras-1 style in the VGG files, Keras-2 style in the ResNet ones."""
    name = _published_name(layer, vgg)
    if vgg:
        return [f"{name}_{'W' if k == 0 else 'b'}_1:0" for k in range(len(layer.weights))]
    return [f"{name}/{w.name}:0" for w in layer.weights]


def write_published_h5(model, path, *, vgg: bool, top_layers=()) -> str:
    """``model``'s weights in the published keras.applications ``.h5`` layout (minus ``top_layers``)."""
    import h5py

    layers = [layer for layer in model.layers if layer.name not in top_layers]
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [_published_name(la, vgg).encode("utf8") for la in layers]
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.2.4"
        for layer in layers:
            group = f.create_group(_published_name(layer, vgg))
            names = _weight_names(layer, vgg)
            group.attrs["weight_names"] = [n.encode("utf8") for n in names]
            for name, w in zip(names, layer.weights, strict=True):
                group.create_dataset(name, data=np.asarray(w))
    return str(path)


def _randomize(model, seed: int) -> None:
    """Nonzero conv biases and BatchNorm statistics, so folding and epsilons are exercised."""
    import keras

    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.gamma.shape
            layer.gamma.assign(rng.uniform(0.5, 1.5, n).astype("float32"))
            layer.beta.assign(rng.normal(0, 0.3, n).astype("float32"))
            layer.moving_mean.assign(rng.normal(0, 0.5, n).astype("float32"))
            layer.moving_variance.assign(rng.uniform(0.5, 2.0, n).astype("float32"))
        elif isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense)) and layer.use_bias:
            layer.bias.assign(rng.normal(0, 0.3, layer.bias.shape).astype("float32"))


@functools.cache
def reference(arch: str, folder: str):
    """(top file, notop file, reference with its top at 64x64, its top layers); built once."""
    import keras

    builder = getattr(keras.applications, ARCHS[arch][0])
    keras.utils.set_random_seed(13)
    top = builder(
        weights=None, include_top=True, input_shape=(64, 64, 3), classifier_activation=None
    )
    _randomize(top, seed=len(arch))
    vgg = arch.startswith("vgg")
    tops = ("flatten", "fc1", "fc2", "predictions") if vgg else ("avg_pool", "predictions")
    top_file = write_published_h5(top, os.path.join(folder, f"{arch}_top.h5"), vgg=vgg)
    notop_file = write_published_h5(
        top, os.path.join(folder, f"{arch}_notop.h5"), vgg=vgg, top_layers=tops
    )
    return top_file, notop_file, top, tops


@functools.cache
def features_reference(arch: str, folder: str, size: int):
    """The reference without its top.

    At 64 a view of the top model; else a fully convolutional one that Keras' own
    legacy loader fills from the notop file (so the layout is one Keras reads).
    """
    import keras

    _, notop_file, top, tops = reference(arch, folder)
    if size == 64:
        return keras.Model(top.input, top.get_layer(tops[0]).input)
    builder = getattr(keras.applications, ARCHS[arch][0])
    notop = builder(weights=None, include_top=False, input_shape=(None, None, 3))
    notop.load_weights(notop_file)
    return notop


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return str(tmp_path_factory.mktemp("published"))


def _reference_output(arch, folder, include_top, x, training):
    _, _, top, tops = reference(arch, folder)
    features = features_reference(arch, folder, x.shape[1])
    saved = features.get_weights()
    y = features(x, training=training)
    features.set_weights(saved)  # a training-mode call moves BatchNorm statistics: undo
    if include_top:
        for name in tops:
            y = top.get_layer(name)(y)
    return np.asarray(y)


# VGG-16 with and without top at both sizes; ResNet-50 likewise but for its top at 65 (the
# global-average top is size-agnostic); VGG-19, ResNet-101/152 (the same mapping and padding,
# deeper: cost) with their top at 64, VGG-19 also without at 65.
CASES = [("vgg16", t, s) for t in (True, False) for s in SIZES]
CASES += [("resnet50", True, 64), ("resnet50", False, 64), ("resnet50", False, 65)]
CASES += [(a, True, 64) for a in ("vgg19", "resnet101", "resnet152")] + [("vgg19", False, 65)]


@pytest.mark.parametrize(("arch", "include_top", "size"), CASES)
def test_zoo_model_with_published_weights_matches_keras_applications(
    arch, include_top, size, folder
):
    """Inference; ResNet-50 also in training mode (BatchNorm with batch statistics).

    Training mode of the deeper ResNets is checked in float64 (the next test): with random
    weights, float32 rounding (the bias the reference adds and the zoo folds) grows through
    100+ batch normalizations over 2x2 maps to ~6e-4 of the output scale.
    """
    import zoo

    top_file, notop_file, *_ = reference(arch, folder)
    model = zoo.build_model(
        arch,
        input_shape=(size, size, 3),
        include_top=include_top,
        classifier_activation=None,
        weights=top_file if include_top else notop_file,
        **ARCHS[arch][1],
    )
    # A batch of 8: training mode normalizes by batch statistics, which at the 2x2 end
    # are 4 values a channel per image; float32 rounding is amplified by 1/sqrt(variance).
    x = np.random.default_rng(size).normal(0, 40, (8, size, size, 3)).astype("float32")
    for training in (False, True) if arch == "resnet50" else (False,):
        want = _reference_output(arch, folder, include_top, x, training)
        got = np.asarray(model(x, training=training))
        assert got.shape == want.shape
        scale = float(np.abs(want).max())
        assert scale > 0
        assert float(np.abs(got - want).max()) <= 1e-4 * scale, (arch, size, training)


@pytest.mark.parametrize("arch", ["resnet101", "resnet152"])
def test_deep_resnets_match_keras_applications_in_training_mode_in_float64(arch, folder):
    """ResNet-101/152 in training mode (batch statistics), with the top at 64 and without at 65.

    Both sides in float64: with random weights, float32 rounding alone grows through 100+
    batch normalizations of 2x2 maps to ~6e-4 of the output scale, so float32 could not show
    that the mapping (the folded conv bias, the epsilon shift) is exact to 1e-4.
    """
    import keras

    import zoo

    top_file, notop_file, *_ = reference(arch, folder)
    builder = getattr(keras.applications, ARCHS[arch][0])
    for include_top, size in ((True, 64), (False, 65)):
        with keras_dtype("float64"):
            want_model = builder(weights=None, include_top=include_top, classifier_activation=None,
                                 input_shape=(size, size, 3))  # fmt: skip
            want_model.load_weights(top_file if include_top else notop_file)
            model = zoo.build_model(arch, input_shape=(size, size, 3), include_top=include_top,
                                    classifier_activation=None, **ARCHS[arch][1],
                                    weights=top_file if include_top else notop_file)  # fmt: skip
        x = np.random.default_rng(size).normal(0, 40, (4, size, size, 3))
        want = np.asarray(want_model(x, training=True))
        got = np.asarray(model(x, training=True))
        assert got.dtype == np.float64 and got.shape == want.shape
        scale = float(np.abs(want).max())
        assert float(np.abs(got - want).max()) <= 1e-4 * scale, (arch, size, include_top)


def test_top_file_fits_a_model_without_top_but_not_the_reverse(folder):
    import zoo
    from zoo.weights import WeightsError

    top_file, notop_file, *_ = reference("vgg16", folder)
    headless = zoo.build_model(
        "vgg16", input_shape=(64, 64, 3), include_top=False, weights=top_file
    )
    want = _reference_output("vgg16", folder, False, np.ones((1, 64, 64, 3), "float32"), False)
    np.testing.assert_allclose(
        headless(np.ones((1, 64, 64, 3), "float32")), want, rtol=1e-5, atol=1e-4
    )
    with pytest.raises(WeightsError, match="no classifier") as info:
        zoo.build_model("vgg16", input_shape=(64, 64, 3), weights=notop_file)
    assert notop_file in str(info.value) and "\n" not in str(info.value)


def test_resnet_weights_need_the_papers_stride_placement(folder):
    import zoo
    from zoo.weights import WeightsError

    _, notop_file, *_ = reference("resnet50", folder)
    with pytest.raises(WeightsError, match="stride_on='1x1'") as info:
        zoo.build_model("resnet50", input_shape=(64, 64, 3), include_top=False, weights=notop_file)
    assert notop_file in str(info.value)


def test_file_for_another_architecture_is_named(folder):
    import zoo
    from zoo.weights import WeightsError

    _, resnet_file, *_ = reference("resnet50", folder)
    _, vgg16_file, *_ = reference("vgg16", folder)
    _, vgg19_file, *_ = reference("vgg19", folder)
    # foreign layer names; layers the model lacks (block3_conv4); layers the file lacks
    for arch, path in (("vgg16", resnet_file), ("vgg16", vgg19_file), ("vgg19", vgg16_file)):
        with pytest.raises(WeightsError, match="another architecture") as info:
            zoo.build_model(arch, input_shape=(64, 64, 3), include_top=False, weights=path)
        message = str(info.value)
        assert path in message and f"{arch}_weights_tf_dim_ordering_tf_kernels_notop.h5" in message
        assert "\n" not in message


def test_truncated_and_foreign_files_are_named(folder, tmp_path):
    import zoo
    from zoo.weights import WeightsError

    _, vgg_file, *_ = reference("vgg16", folder)
    truncated = tmp_path / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
    with open(vgg_file, "rb") as f:
        truncated.write_bytes(f.read()[:4096])
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not hdf5 at all" * 100)
    for path in (truncated, junk):
        with pytest.raises(WeightsError, match="corrupted or truncated") as info:
            zoo.build_model("vgg16", input_shape=(64, 64, 3), include_top=False, weights=str(path))
        assert str(path) in str(info.value) and "\n" not in str(info.value)


# ------------------------------------------------------------ imagenet:keras
@pytest.fixture()
def keras_home(tmp_path, monkeypatch):
    home = tmp_path / "keras_home"
    (home / "models").mkdir(parents=True)
    monkeypatch.setenv("KERAS_HOME", str(home))
    return home


def _register(monkeypatch, arch: str, file_hash: str):
    """Registers the test's own hash for ``arch``'s files (the publisher's differ)."""
    from zoo.bridge import KERAS_SOURCES

    source = dataclasses.replace(KERAS_SOURCES[arch], hashes=(file_hash, file_hash))
    monkeypatch.setitem(KERAS_SOURCES, arch, source)
    return source


def test_imagenet_keras_resolves_through_keras_cache(folder, keras_home, monkeypatch):
    import keras

    import zoo
    from zoo.weights import WeightsError, imagenet_preprocessing

    _, vgg_file, *_ = reference("vgg16", folder)
    fname = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
    cached = keras_home / "models" / fname
    shutil.copy(vgg_file, cached)
    md5 = hashlib.md5(cached.read_bytes()).hexdigest()
    _register(monkeypatch, "vgg16", md5)

    def no_download(*args, **kwargs):
        raise AssertionError("a cached file must not be downloaded")

    monkeypatch.setattr(keras.utils, "get_file", no_download)
    x = np.random.default_rng(0).normal(0, 40, (1, 64, 64, 3)).astype("float32")
    for weights in ("imagenet:keras", "imagenet"):
        model = zoo.build_model(
            "vgg16", input_shape=(64, 64, 3), include_top=False, weights=weights
        )
        want = _reference_output("vgg16", folder, False, x, False)
        np.testing.assert_allclose(model(x), want, rtol=1e-5, atol=1e-4 * np.abs(want).max())
    assert imagenet_preprocessing("vgg16", "imagenet:keras") == "caffe"
    assert imagenet_preprocessing("resnet50", f"/x/{fname.replace('vgg16', 'resnet50')}") == "caffe"
    assert imagenet_preprocessing("lenet5", "imagenet") is None
    with pytest.raises(WeightsError, match="Unknown ImageNet weight source 'tv'"):
        zoo.build_model("vgg16", input_shape=(64, 64, 3), weights="imagenet:tv")
    _register(monkeypatch, "vgg16", "0" * 32)  # now the cached file's hash differs
    with pytest.raises(WeightsError, match="publisher's hash") as info:
        zoo.build_model("vgg16", input_shape=(64, 64, 3), include_top=False, weights="imagenet")
    assert str(cached) in str(info.value) and "\n" not in str(info.value)


def test_imagenet_keras_offline_names_file_url_and_place(keras_home, monkeypatch):
    """No network: Keras' download is stubbed to fail the way it does offline."""
    import keras

    import zoo
    from zoo.weights import MissingWeightsError, WeightsError

    calls = []

    def offline(fname=None, origin=None, **kwargs):
        calls.append((fname, origin, kwargs.get("cache_dir"), kwargs.get("file_hash")))
        raise Exception(f"URL fetch failure on {origin}: None -- [Errno -3] name resolution")  # noqa: TRY002

    monkeypatch.setattr(keras.utils, "get_file", offline)
    fname = "resnet50_weights_tf_dim_ordering_tf_kernels.h5"
    url = f"https://storage.googleapis.com/tensorflow/keras-applications/resnet/{fname}"
    with pytest.raises(MissingWeightsError) as info:
        zoo.build_model(
            "resnet50", stride_on="1x1", input_shape=(64, 64, 3), weights="imagenet:keras"
        )
    err = info.value
    assert calls == [(fname, url, str(keras_home), "2cb95161c43110f7111970584f804107")]
    assert err.fname == fname and err.origin == url
    assert err.path == str(keras_home / "models" / fname)
    assert fname in str(err) and url in str(err) and err.path in str(err)
    assert "\n" not in str(err)
    calls.clear()  # v1.5 (the default stride placement) is refused before any download
    with pytest.raises(WeightsError, match="stride_on='1x1'"):
        zoo.build_model("resnet50", input_shape=(64, 64, 3), weights="imagenet:keras")
    assert calls == []


def test_architectures_without_published_weights_are_refused():
    import zoo
    from zoo.weights import WeightsError

    with pytest.raises(WeightsError, match="no imagenet:keras weights .*it has imagenet:torch"):
        zoo.build_model("resnet18", weights="imagenet:keras")
    with pytest.raises(WeightsError, match="no ImageNet weights"):
        zoo.build_model("lenet5", weights="imagenet")


def test_fine_tuning_backbone_gets_the_options_and_preprocessing_of_its_weights(folder, tmp_path):
    """``load_backbone`` (``zoo finetune``) with a published keras.applications file:
    ResNet-50 is built with the paper's stride placement the file needs, and the
    inputs are preprocessed the Caffe way the weights were trained with."""
    from zoo.transfer.backbone import load_backbone

    _, notop_file, *_ = reference("resnet50", folder)
    published = tmp_path / "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
    shutil.copy(notop_file, published)
    backbone = load_backbone("resnet50", (64, 64, 3), weights=str(published))
    assert backbone.preprocessing.mode == "caffe"
    assert backbone.model.zoo_options["stride_on"] == "1x1"
    x = np.random.default_rng(1).normal(0, 40, (2, 64, 64, 3)).astype("float32")
    want = features_reference("resnet50", folder, 64)(x).numpy().mean(axis=(1, 2))
    np.testing.assert_allclose(backbone.model(x), want, rtol=1e-5, atol=1e-4 * np.abs(want).max())


def test_a_model_built_with_other_options_is_refused_in_one_line_for_either_publisher(tmp_path):
    """keras.applications ResNets are v1 (``stride_on="1x1"``), torchvision's v1.5 ("3x3")."""
    import zoo
    from zoo.bridge.imagenet import load_torch_file
    from zoo.bridge.keras_h5 import load_keras_h5
    from zoo.bridge.torchvision import torch_source
    from zoo.weights import WeightsError

    path = str(tmp_path / "never_read.h5")
    cases = (  # (arch, stride_on the model has, loader, publisher)
        ("resnet50", "3x3", lambda m: load_keras_h5(m, path), "keras.applications"),
        ("resnet18", "1x1", lambda m: load_torch_file(m, path, source=torch_source("resnet18")),
         "torch"),
    )  # fmt: skip
    for arch, stride_on, load, kind in cases:
        model = zoo.build_model(arch, stride_on=stride_on, include_top=False,
                                input_shape=(32, 32, 3))  # fmt: skip
        with pytest.raises(WeightsError) as info:
            load(model)
        want = "1x1" if stride_on == "3x3" else "3x3"
        message = str(info.value)
        assert message.startswith(f"{path!r}: {kind}") and "\n" not in message
        assert f"{arch} weights need stride_on={want!r}; the model has stride_on=" in message
        assert f"zoo.build_model({arch!r}, stride_on={want!r}, ...)" in message
