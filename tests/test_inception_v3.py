"""Inception v3: the paper's facts, and keras.applications' function given its weights.

The reference is a live ``keras.applications.InceptionV3(weights=None)``, seeded, with
nonzero BatchNorm shifts and statistics so that they matter. Its weights are written in the
published Keras-2 HDF5 layout of ``inception_v3_weights_tf_dim_ordering_tf_kernels[_notop].h5``
(root ``layer_names``; per layer ``weight_names``; keras.applications names none of the
convolutions, so the file holds ``conv2d_1``... and ``batch_normalization_1``...); Keras' own
legacy loader reads the ``_notop`` file back into a second reference (so the layout is one
Keras reads), and the zoo model loads both through `zoo.weights`, offline.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import re
import shutil

import numpy as np
import pytest
import symbolic

import zoo

TOP_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels.h5"
NOTOP_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
SIZES = (75, 96)
_AUTO = re.compile(r"^(conv2d|batch_normalization)(?:_(\d+))?$")


# --------------------------------------------------------------------- paper facts
def test_parameter_count_is_keras_applications_and_under_the_papers_25_million():
    """Abstract: "less than 25 million parameters" (keras.applications: 23,851,784) and
    "5 billion multiply-adds" (5.71 G at 299x299, as torchvision's model card)."""
    import keras

    info = symbolic.model_info("inception_v3")
    with keras.StatelessScope(initialize_variables=False):
        reference = keras.applications.InceptionV3(weights=None).count_params()
    keras.backend.clear_session(free_memory=False)
    assert info["params"] == reference == 23_851_784
    assert info["params"] < 25_000_000
    # "a computational cost of 5 billion multiply-adds" (abstract); torchvision documents 5.71 G
    assert info["flops"] / 1e9 == pytest.approx(5.71, abs=0.01)
    assert zoo.get_spec("inception_v3").params == 23_851_784
    # torchvision's inception_v3 (BatchNorm with scale, the auxiliary head): 27,161,264
    tv = symbolic.graph("inception_v3", bn_scale=True, aux_logits=True)
    assert sum(int(np.prod(w.shape)) for w in tv.trainable_weights) == 27_161_264


def test_table1_grids_and_the_released_modules():
    """Table 1: 299x299x3 in; 35x35x288, 17x17x768 and 8x8x2048 after the module groups."""
    import keras

    from zoo.models.inception_v3 import conv_names

    model = symbolic.graph("inception_v3")
    assert model.get_layer("conv_4a").output.shape[1:] == (71, 71, 192)
    assert model.get_layer("mixed_5d_concat").output.shape[1:] == (35, 35, 288)
    assert model.get_layer("mixed_6e_concat").output.shape[1:] == (17, 17, 768)
    assert model.get_layer("mixed_7c_concat").output.shape[1:] == (8, 8, 2048)
    convs = [la.name for la in model.layers if isinstance(la, keras.layers.Conv2D)]
    assert sorted(convs) == sorted(conv_names()) and len(convs) == 94
    # Fig. 6 (n = 7) and Fig. 7 (expanded filter bank), named as torchvision's modules
    assert model.get_layer("mixed_6b_7x7_2").kernel_size == (1, 7)
    assert model.get_layer("mixed_6b_7x7_3").kernel_size == (7, 1)
    assert model.get_layer("mixed_7b_3x3dbl_3a").kernel_size == (1, 3)
    assert model.get_layer("mixed_7b_3x3dbl_3b").kernel_size == (3, 1)
    assert model.get_layer("mixed_6a_3x3").strides == (2, 2)
    assert model.get_layer("mixed_7c_3x3dbl_3_concat").output.shape[1:] == (8, 8, 768)
    prefixes = ("input", "conv_", "pool", "mixed_", "avg_pool", "predictions")
    assert [la.name for la in model.layers if not la.name.startswith(prefixes)] == []
    bn = model.get_layer("mixed_5b_1x1_bn")
    assert bn.epsilon == 1e-3 and not bn.scale


def test_aux_head_outputs_loss_weights_and_inference_model():
    from zoo.training.model_setup import inference_model, output_loss_weights

    model = symbolic.graph("inception_v3", aux_logits=True, num_classes=7)
    assert list(model.output_names) == ["predictions", "aux"]
    assert [t.shape[-1] for t in model.outputs] == [7, 7]
    assert model.get_layer("aux_conv2").output.shape[1:] == (1, 1, 768)
    assert output_loss_weights(model) == (1.0, 0.4)
    assert len(inference_model(model).outputs) == 1
    for kwargs in ({"input_shape": (298, 298, 3)}, {"include_top": False}):
        with pytest.raises(ValueError, match="aux_logits=True needs include_top=True"):
            zoo.build_model("inception_v3", aux_logits=True, **kwargs)
    with pytest.raises(ValueError, match="bn_scale must be True or False"):
        zoo.build_model("inception_v3", bn_scale="yes")


def test_pool_include_pad_counts_the_zeros_as_torchvision():
    """``count_include_pad=True``: a corner of a constant map averages 4 of 9 values."""
    import keras

    from zoo.models.inception_v3 import _pool

    o = zoo.get_spec("inception_v3").options(pool_include_pad=True)
    x = keras.Input((5, 5, 1))
    y = np.asarray(keras.Model(x, _pool(x, "avg", name="p", o=o))(np.ones((1, 5, 5, 1))))
    assert y[0, 0, 0, 0] == pytest.approx(4 / 9) and y[0, 2, 2, 0] == pytest.approx(1.0)
    keras_like = dataclasses.replace(o, pool_include_pad=False)
    y = np.asarray(keras.Model(x, _pool(x, "avg", name="q", o=keras_like))(np.ones((1, 5, 5, 1))))
    assert np.allclose(y, 1.0)


# --------------------------------------------------------------------- the weight bridge
def _published_names(model) -> dict:
    """keras.applications' layer -> its name in the published file (``conv2d_1``...).

    The live model's automatic names are numbered on from whatever Keras built before;
    the published file numbers each kind from 1, in creation order.
    """
    found = [(_AUTO.match(la.name), la.name) for la in model.layers]
    out = {}
    for kind in ("conv2d", "batch_normalization"):
        ours = sorted((int(m.group(2) or 0), n) for m, n in found if m and m.group(1) == kind)
        out.update({n: f"{kind}_{k}" for k, (_, n) in enumerate(ours, start=1)})
    return out


def write_published_h5(model, path, *, top: bool, renumber: bool = True) -> str:
    """``model``'s weights in the published Keras-2 layout (without ``avg_pool``/``predictions``
    unless ``top``); ``renumber``: the published file's names, else the live model's."""
    import h5py

    names = _published_names(model) if renumber else {}
    layers = [la for la in model.layers if top or la.name not in ("avg_pool", "predictions")]
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [names.get(la.name, la.name).encode() for la in layers]
        f.attrs["backend"], f.attrs["keras_version"] = b"tensorflow", b"2.0.8"
        for layer in layers:
            name = names.get(layer.name, layer.name)
            group = f.create_group(name)
            keys = [f"{name}/{w.name}:0" for w in layer.weights]
            group.attrs["weight_names"] = [k.encode() for k in keys]
            for key, w in zip(keys, layer.weights, strict=True):
                group.create_dataset(key, data=np.asarray(w))
    return str(path)


@functools.cache
def reference(folder: str):
    """(top file, notop file, the reference with its top at 75x75); built once."""
    import keras

    keras.utils.set_random_seed(29)
    top = keras.applications.InceptionV3(
        weights=None, input_shape=(75, 75, 3), classifier_activation=None
    )
    rng = np.random.default_rng(29)
    for layer in top.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.beta.shape
            layer.beta.assign(rng.normal(0, 0.3, n).astype("float32"))
            layer.moving_mean.assign(rng.normal(0, 0.5, n).astype("float32"))
            layer.moving_variance.assign(rng.uniform(0.5, 2.0, n).astype("float32"))
    top.get_layer("predictions").bias.assign(rng.normal(0, 0.3, 1000).astype("float32"))
    top_file = write_published_h5(top, f"{folder}/{TOP_FILE}", top=True)
    notop_file = write_published_h5(top, f"{folder}/{NOTOP_FILE}", top=False)
    return top_file, notop_file, top


@functools.cache
def features(folder: str, size: int):
    """The reference without its top: a view of the top model at 75, else a model Keras'
    own legacy loader fills from the published ``_notop`` file."""
    import keras

    _, notop_file, top = reference(folder)
    if size == 75:
        return keras.Model(top.input, top.get_layer("mixed10").output)
    notop = keras.applications.InceptionV3(
        weights=None, include_top=False, input_shape=(size, size, 3)
    )
    notop.load_weights(notop_file)
    return notop


def _reference_output(folder, include_top, x, training):
    _, _, top = reference(folder)
    model = features(folder, x.shape[1])
    saved = model.get_weights()
    y = model(x, training=training)
    model.set_weights(saved)  # a training-mode call moves the BatchNorm statistics: undo
    if include_top:
        y = top.get_layer("predictions")(top.get_layer("avg_pool")(y))
    return np.asarray(y)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return str(tmp_path_factory.mktemp("inception_v3_published"))


def _assert_close(got, want, what):
    scale = float(np.abs(want).max())
    assert got.shape == want.shape and scale > 0
    assert float(np.abs(got - want).max()) <= 1e-4 * scale, what


# The top (global average pooling, dense) is size-agnostic: with it at 75, without at 96.
@pytest.mark.parametrize(("include_top", "size"), [(True, SIZES[0]), (False, SIZES[1])])
def test_same_function_as_keras_applications_with_its_published_weights(include_top, size, folder):
    """Inference and training mode (batch statistics); the cache test adds no top at 75."""
    import keras

    top_file, notop_file, _ = reference(folder)
    model = zoo.build_model(
        "inception_v3",
        input_shape=(size, size, 3),
        include_top=include_top,
        classifier_activation=None,
        weights=top_file if include_top else notop_file,
    )
    x = np.random.default_rng(size).uniform(-1, 1, (8, size, size, 3)).astype("float32")
    if include_top:  # and the feature map under the top (before training mode moves statistics)
        trunk = keras.Model(model.input, model.get_layer("mixed_7c_concat").output)
        _assert_close(np.asarray(trunk(x)), _reference_output(folder, False, x, False), "trunk")
    for training in (False, True):
        want = _reference_output(folder, include_top, x, training)
        got = np.asarray(model(x, training=training))
        _assert_close(got, want, (include_top, size, training))


def test_imagenet_keras_through_the_cache_and_live_names(folder, tmp_path, monkeypatch):
    """``weights="imagenet"`` finds the file in Keras' cache under its published name; a file
    saved with the live model's own counters (``conv2d``, ``conv2d_1``...) maps by order all the same."""
    import h5py
    import keras

    from zoo.bridge import KERAS_SOURCES
    from zoo.bridge.keras_h5 import load_keras_h5
    from zoo.weights import WeightsError, imagenet_preprocessing

    _, _, top = reference(folder)
    home = tmp_path / "keras_home"
    (home / "models").mkdir(parents=True)
    monkeypatch.setenv("KERAS_HOME", str(home))
    cached = write_published_h5(top, home / "models" / NOTOP_FILE, top=False, renumber=False)
    with open(cached, "rb") as f:
        md5 = hashlib.md5(f.read()).hexdigest()
    source = dataclasses.replace(KERAS_SOURCES["inception_v3"], hashes=(md5, md5))
    monkeypatch.setitem(KERAS_SOURCES, "inception_v3", source)

    def no_download(*args, **kwargs):
        raise AssertionError("a cached file must not be downloaded")

    monkeypatch.setattr(keras.utils, "get_file", no_download)
    model = zoo.build_model(
        "inception_v3", input_shape=(75, 75, 3), include_top=False, weights="imagenet:keras"
    )
    x = np.random.default_rng(3).uniform(-1, 1, (2, 75, 75, 3)).astype("float32")
    _assert_close(np.asarray(model(x)), _reference_output(folder, False, x, False), "cache")
    assert imagenet_preprocessing("inception_v3", "imagenet") == "tf"
    assert imagenet_preprocessing("inception_v3", f"/x/{TOP_FILE}") == "tf"
    # one convolution fewer: the counts no longer match, nothing maps, the file is named
    broken = shutil.copy(cached, tmp_path / NOTOP_FILE)
    with h5py.File(broken, "a") as f:
        names = list(f.attrs["layer_names"])
        last_conv = [n for n in names if n.startswith("conv2d")][-1]
        f.attrs["layer_names"] = [n for n in names if n != last_conv]
    with pytest.raises(WeightsError, match="another architecture") as info:
        load_keras_h5(model, broken)
    assert str(broken) in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(WeightsError, match="pool_include_pad=False"):
        zoo.build_model("inception_v3", input_shape=(75, 75, 3), include_top=False,
                        pool_include_pad=True, weights=cached)  # fmt: skip


def test_published_source_table():
    from zoo.bridge import KERAS_SOURCES

    source = KERAS_SOURCES["inception_v3"]
    base = "https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/"
    assert source.origin(True) == base + TOP_FILE and source.origin(False) == base + NOTOP_FILE
    assert source.hashes == ("9a0d58056eeedaa3f26cb7ebd46da564", "bcbd6486424b2319ff4ef7d526e38f63")
    assert source.preprocessing == "tf"
