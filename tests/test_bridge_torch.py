"""The torchvision / timm weight bridge: parity with torchvision, published layouts, errors.

Parity: for every architecture with a torchvision source (`benchmarks/make_torch_fixtures.py`
``CASES``), a state dict generated from a seed (`torch_reference.seeded_state_dict`, the real
key names and shapes) is assigned to the zoo model by the source's mapper and the outputs are
compared with torchvision's for the same state dict: live when torch is importable, else from
the recorded fixture ``tests/fixtures/torchvision/<arch>.npz``. With and without the
1000-class top, at two input sizes (64 and 65 or 96), in inference and (BatchNorm nets)
training mode, within 1e-4 of the output scale; ResNet-101/152 in float64 on both sides (the
zoo model under the float64 dtype policy, torchvision ``.double()``), as
tests/test_inception_v3_torch.py does: in float32 their training mode differs by up to 1.3e-3
(rounding through 100+ batch-statistics BatchNorms). ResNet features are the pooled ``avg_pool`` output of the same model (the
``include_top=False`` load is checked in the round trip), VGG's top is compared in inference
only (its dropout is random), its feature map (``include_top=False``) in both. Generating a
VGG classifier (123 M values) costs seconds, so the VGG tops but ``vgg11_bn``'s (the same
mapping for every VGG) run with ``ZOO_FULL_PARITY=1`` only.

Round trip: seeded state dicts written as torchvision ``.pth`` (with torch) and timm
``model.safetensors`` (without), loaded by path and through ``weights="imagenet"`` from
Keras' cache (the test registers its own file name and hash); bad files give one-line
errors naming the file. No network: Keras' download is stubbed.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib.util
import json
import os
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import REPO, keras_dtype, write_digit_folder
from torch_reference import FIXTURES, load_fixture, seeded_state_dict

_spec = importlib.util.spec_from_file_location(
    "make_torch_fixtures", REPO / "benchmarks" / "make_torch_fixtures.py"
)
MAKE = sys.modules.setdefault("make_torch_fixtures", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(MAKE)

try:
    import torch  # noqa: F401
    import torchvision  # noqa: F401

    HAVE_TORCH = True
except ImportError:
    HAVE_TORCH = False

TOP_PREFIXES = ("fc.", "classifier.")


def _shapes(arch: str) -> list:
    """The state dict's ``[(key, shape)]``: torchvision's live, else the fixture's."""
    if HAVE_TORCH:
        return MAKE.state_shapes(MAKE.CASES[arch])
    with np.load(FIXTURES / f"{arch}.npz") as z:
        return [(str(k), tuple(int(d) for d in str(s).split(",") if d))
                for k, s in zip(z["keys"], z["shapes"], strict=True)]  # fmt: skip


@functools.lru_cache(maxsize=3)  # a VGG top state is 550 MB
def reference(arch: str, with_top: bool):
    """``(state, outputs)``; without the top, VGG's classifier is neither generated nor used."""
    case = MAKE.CASES[arch]
    shapes = _shapes(arch)
    if not with_top:  # the classifier comes last: the rest of the stream is the same
        shapes = [(k, s) for k, s in shapes if not k.startswith(TOP_PREFIXES)]
    state = seeded_state_dict(shapes, case.seed)
    if HAVE_TORCH:
        outputs = MAKE.reference_outputs(case, state, MAKE.inputs_of(case))
    else:
        with np.load(FIXTURES / f"{arch}.npz") as z:
            assert int(z["seed"]) == case.seed
            outputs = {k[len("output_") :]: z[k] for k in z.files if k.startswith("output_")}
    return state, outputs


def _zoo_model(arch: str, size: int, include_top: bool, state: dict, **kwargs):
    """The zoo model with ``state``, in the dtype its `Case` records (float64: ResNet-101/152)."""
    import zoo
    from zoo.bridge.torchvision import mapper_of, torch_source

    kwargs.setdefault("pooling", "avg" if arch.startswith("resnet") else None)
    kwargs.setdefault("classifier_activation", None)
    dtype = MAKE.CASES[arch].dtype if arch in MAKE.CASES else "float32"
    with keras_dtype(dtype):
        model = zoo.build_model(
            arch, input_shape=(size, size, 3), include_top=include_top, **kwargs
        )
    mapper_of(torch_source(arch))(model, state)
    return model


def _close(got, want, what, tolerance=1e-4):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, (what, got.shape, want.shape)
    scale = float(np.abs(want).max())
    assert scale > 0, what
    err = float(np.abs(got - want).max()) / scale
    assert err <= tolerance, (what, err)


#: Set to run every VGG top (each generates a 123 M-value classifier: seconds apiece).
FULL = os.environ.get("ZOO_FULL_PARITY") == "1"
#: The VGG whose 1000-class top runs by default (torchvision's classifier and its adaptive
#: pooling fold are the same for every VGG; the others' with ZOO_FULL_PARITY=1).
VGG_TOP = "vgg11_bn"


def _check(nets, x, outputs, size: int) -> int:
    """Compares each ``(model, kinds)`` of ``nets`` (an output per kind) with
    ``outputs["<kind>_<mode>_<size>"]``, all in inference first (a training-mode call moves
    the statistics); the count checked."""
    checked = 0
    for mode in ("eval", "train"):
        for model, kinds in nets:
            names = [f"{kind}_{mode}_{size}" for kind in kinds]
            if not any(name in outputs for name in names):
                continue
            got = model(x, training=mode == "train")
            for name, y in zip(names, got if len(kinds) > 1 else [got], strict=True):
                if name in outputs:
                    _close(y, outputs[name], name)
                    checked += 1
    return checked


def _resnet_parity(arch, case, inputs) -> int:
    """One model with its top per size: logits and the pooled features (``avg_pool``), from
    one call per mode."""
    import keras

    state, outputs = reference(arch, True)
    checked = 0
    for size in case.top_sizes:
        model = _zoo_model(arch, size, True, state)
        both = keras.Model(model.input, [model.output, model.get_layer("avg_pool").output])
        checked += _check(((both, ("top", "features")),), inputs[f"x{size}"], outputs, size)
    return checked


def _vgg_parity(arch, case, inputs) -> int:
    """Without the top (its feature map) at every size; with it where it runs."""
    state, outputs = reference(arch, False)
    checked = 0
    for size in case.sizes:
        model = _zoo_model(arch, size, False, state)
        checked += _check(((model, ("features",)),), inputs[f"x{size}"], outputs, size)
    if arch == VGG_TOP or FULL:
        state, outputs = reference(arch, True)
        for size in case.top_sizes:
            model = _zoo_model(arch, size, True, state)
            checked += _check(((model, ("top",)),), inputs[f"x{size}"], outputs, size)
    return checked


@pytest.mark.parametrize("arch", list(MAKE.CASES))
def test_zoo_model_with_torchvision_weights_matches_torchvision(arch):
    """Every (architecture, torchvision source) pair: a top and features, two sizes, both modes."""
    case = MAKE.CASES[arch]
    inputs = MAKE.inputs_of(case)
    if arch.startswith("resnet"):
        checked = _resnet_parity(arch, case, inputs)
        assert checked == 4 * len(case.top_sizes)
    else:
        checked = _vgg_parity(arch, case, inputs)
        tops = len(case.top_sizes) if (arch == VGG_TOP or FULL) else 0
        assert checked == len(case.sizes) * (2 if case.train else 1) + tops


def test_every_torchvision_source_has_a_parity_case_and_a_fixture():
    from zoo.bridge.torchvision import TORCH_SOURCES

    archs = {s.arch for s in TORCH_SOURCES if s.mapper.startswith("zoo.bridge.torch_map:")}
    assert archs <= set(MAKE.CASES)  # the others' parity: test_bridge_tv_classic, *inception*
    assert {"alexnet_tv", "googlenet_tv", "inception_v3"} <= {s.arch for s in TORCH_SOURCES}
    for arch in MAKE.CASES:
        assert (FIXTURES / f"{arch}.npz").is_file(), arch


def test_recorded_fixture_matches_without_torch():
    """The fixture path itself (what CI without torch runs), for ResNet-18."""
    fixture = load_fixture("resnet18")
    assert fixture["inputs"] == {}
    x = MAKE.inputs_of(MAKE.CASES["resnet18"])["x65"]
    model = _zoo_model("resnet18", 65, True, fixture["state"])
    _close(model(x), fixture["outputs"]["top_eval_65"], "resnet18 fixture")


# ------------------------------------------------------------------ files
@pytest.fixture()
def keras_home(tmp_path, monkeypatch):
    import keras

    home = tmp_path / "keras_home"
    (home / "models").mkdir(parents=True)
    monkeypatch.setenv("KERAS_HOME", str(home))

    def offline(fname=None, origin=None, **kwargs):
        raise Exception(f"URL fetch failure on {origin}: [Errno -3] name resolution")  # noqa: TRY002

    monkeypatch.setattr(keras.utils, "get_file", offline)
    return home


def _published(path, state, layout: str):
    """``state`` written as torchvision's ``.pth`` or timm's ``model.safetensors``."""
    if layout == "pth":
        import torch

        torch.save({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()}, path)
    else:
        from safetensors.numpy import save_file

        save_file({k: np.ascontiguousarray(v) for k, v in state.items()}, str(path))
    return path


def _register(monkeypatch, arch: str, path) -> str:
    """Registers ``path`` (renamed ``<arch>-<sha256[:8]>.<ext>``) as ``arch``'s default source."""
    from zoo.bridge import torchvision as tv

    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:8]
    fname = f"{arch}-{digest}{os.path.splitext(path)[1]}"
    old = tv.torch_source(arch)
    mine = dataclasses.replace(old, fname=fname, url=f"https://example.invalid/{fname}",
                               sha256_prefix=digest)  # fmt: skip
    monkeypatch.setattr(
        tv, "TORCH_SOURCES", tuple(mine if s == old else s for s in tv.TORCH_SOURCES)
    )
    return fname


def _layouts():
    torch_mark = pytest.mark.skipif(not HAVE_TORCH, reason="writing a .pth file needs torch")
    return [pytest.param("pth", marks=torch_mark), "safetensors"]


@pytest.mark.parametrize("layout", _layouts())
def test_published_file_loads_by_path_and_from_the_cache(layout, keras_home, monkeypatch):
    import zoo
    from zoo.weights import WeightsError, imagenet_preprocessing

    state, outputs = reference("resnet18", True)
    src = _published(keras_home / f"written.{layout}", state, layout)
    fname = _register(monkeypatch, "resnet18", src)
    x = MAKE.inputs_of(MAKE.CASES["resnet18"])["x64"]
    build = functools.partial(zoo.build_model, "resnet18", input_shape=(64, 64, 3),
                              classifier_activation=None)  # fmt: skip
    _close(build(weights=str(src))(x), outputs["top_eval_64"], "by path")
    os.replace(src, keras_home / "models" / fname)
    for weights in ("imagenet", "imagenet:torchvision", "imagenet:torchvision-v1"):
        _close(build(weights=weights)(x), outputs["top_eval_64"], weights)
    notop = build(weights="imagenet", include_top=False, pooling="avg")
    _close(notop(x), outputs["features_eval_64"], "without top")
    assert imagenet_preprocessing("resnet18", "imagenet") == "torch"
    assert imagenet_preprocessing("resnet18", str(keras_home / "model.safetensors")) == "torch"
    with pytest.raises(WeightsError, match="no imagenet:keras weights"):
        build(weights="imagenet:keras")
    (keras_home / "models" / fname).write_bytes(b"\0" * 64)  # a different file, same name
    with pytest.raises(WeightsError, match="publisher's hash") as info:
        build(weights="imagenet")
    assert fname in str(info.value) and "\n" not in str(info.value)


def test_offline_error_names_file_url_and_place(keras_home):
    import zoo
    from zoo.weights import MissingWeightsError

    with pytest.raises(MissingWeightsError) as info:
        zoo.build_model("resnet50", input_shape=(64, 64, 3), weights="imagenet")
    err = info.value
    url = "https://download.pytorch.org/models/resnet50-11ad3fa6.pth"  # DEFAULT: V2
    assert err.fname == "resnet50-11ad3fa6.pth" and err.origin == url
    assert err.path == str(keras_home / "models" / err.fname)
    assert err.fname in str(err) and url in str(err) and err.path in str(err)
    with pytest.raises(MissingWeightsError, match="resnet50-0676ba61.pth"):
        zoo.build_model("resnet50", input_shape=(64, 64, 3), weights="imagenet:torchvision-v1")
    with pytest.raises(MissingWeightsError, match="vgg16_bn-6c64b313.pth"):
        zoo.build_model("vgg16_bn", input_shape=(64, 64, 3), weights="imagenet")


def test_bad_files_give_one_line_errors_naming_the_file(tmp_path):
    import zoo
    from zoo.weights import WeightsError

    state, _ = reference("resnet18", True)
    good = _published(tmp_path / "model.safetensors", state, "safetensors")
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(good.read_bytes()[:5000])
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a safetensors file" * 10)
    vgg_state, _ = reference("vgg11", False)
    foreign = _published(tmp_path / "vgg.safetensors", vgg_state, "safetensors")
    deeper = _published(tmp_path / "r34.safetensors", reference("resnet34", True)[0], "safetensors")
    cases = [
        ("resnet18", truncated, "corrupted or truncated"),
        ("resnet18", junk, "corrupted or truncated"),
        ("resnet18", foreign, "another architecture"),
        ("resnet18", deeper, "another architecture"),
        ("resnet34", good, "another architecture"),
        ("resnet18", tmp_path / "absent.safetensors", "not found"),
        ("lenet5", good, "no torchvision weights"),
    ]
    for arch, path, said in cases:
        with pytest.raises(WeightsError, match=said) as info:
            zoo.build_model(
                arch,
                weights=str(path),
                **({} if arch == "lenet5" else {"input_shape": (64, 64, 3)}),
            )
        message = str(info.value)
        assert str(path) in message and "\n" not in message, message


def test_pth_without_torch_says_how_to_do_without(tmp_path, monkeypatch):
    from zoo.bridge.torch_files import WeightFileError, read_state_dict

    path = tmp_path / "resnet18-f37072fd.pth"
    path.write_bytes(b"PK\x03\x04")
    monkeypatch.setitem(sys.modules, "torch", None)  # as on a machine without torch
    with pytest.raises(WeightFileError, match="needs torch") as info:
        read_state_dict(path)
    message = str(info.value)
    assert str(path) in message and "safetensors" in message and "keras-zoo[bench]" in message


@pytest.mark.skipif(not HAVE_TORCH, reason="writing a .pth file needs torch")
def test_truncated_pth_is_named(tmp_path):
    from zoo.bridge.torch_files import WeightFileError, read_state_dict

    state, _ = reference("resnet18", True)
    good = _published(tmp_path / "good.pth", state, "pth")
    bad = tmp_path / "bad.pth"
    bad.write_bytes(good.read_bytes()[:100_000])
    with pytest.raises(WeightFileError, match="corrupted or truncated") as info:
        read_state_dict(bad)
    assert str(bad) in str(info.value) and "\n" not in str(info.value)


def test_timm_vgg_layout_and_input_channels(tmp_path):
    """timm's VGG keys (fc1 as a 7x7 conv) load like torchvision's; 1 and 4 input channels
    get the first conv adapted as timm's adapt_input_conv (a gray image g gives what (g, g, g)
    gave); a narrow classifier (fc_units=8) keeps the classifier cheap."""
    import zoo

    rng = np.random.default_rng(0)
    state = dict(reference("vgg11", False)[0])
    for key, shape in (
        ("classifier.0", (8, 512 * 49)),
        ("classifier.3", (8, 8)),
        ("classifier.6", (1000, 8)),
    ):
        state[f"{key}.weight"] = rng.normal(0, 0.05, shape).astype(np.float32)
        state[f"{key}.bias"] = rng.normal(0, 0.1, shape[:1]).astype(np.float32)
    timm = {k.replace("classifier.0", "pre_logits.fc1").replace("classifier.3", "pre_logits.fc2")
            .replace("classifier.6", "head.fc"): v for k, v in state.items()}  # fmt: skip
    timm["pre_logits.fc1.weight"] = timm["pre_logits.fc1.weight"].reshape(8, 512, 7, 7)
    timm["pre_logits.fc2.weight"] = timm["pre_logits.fc2.weight"].reshape(8, 8, 1, 1)
    path = _published(tmp_path / "model.safetensors", timm, "safetensors")
    x = rng.normal(0, 1, (2, 64, 64, 1)).astype(np.float32)
    kw = {"fc_units": 8}
    rgb = _zoo_model("vgg11", 64, True, state, **kw)
    kw["classifier_activation"] = None
    gray = zoo.build_model("vgg11", input_shape=(64, 64, 1), weights=str(path), **kw)
    _close(gray(x), rgb(np.repeat(x, 3, axis=-1)), "gray vs rgb")
    four = zoo.build_model("vgg11", input_shape=(64, 64, 4), weights=str(path), **kw)
    kernel = np.asarray(four.get_layer("block1_conv1").kernel)
    first = np.asarray(rgb.get_layer("block1_conv1").kernel)
    np.testing.assert_allclose(kernel, np.concatenate([first, first[:, :, :1]], 2) * 0.75)


def test_finetune_resnet18_with_imagenet_weights_on_gray_and_rgb_folders(
    tmp_path, keras_home, monkeypatch
):
    """``zoo finetune resnet18 DATA --weights imagenet``, the file in Keras' cache."""
    from PIL import Image

    from cli.transfer_cmds import finetune_cmd

    state, _ = reference("resnet18", True)
    layout = "pth" if HAVE_TORCH else "safetensors"
    src = _published(tmp_path / f"w.{layout}", state, layout)
    fname = _register(monkeypatch, "resnet18", src)
    os.replace(src, keras_home / "models" / fname)
    gray = write_digit_folder(tmp_path / "gray", {"one": 1, "seven": 7}, per_class=6)
    rgb = tmp_path / "rgb"
    rng = np.random.default_rng(0)
    for name in ("red", "blue"):
        (rgb / name).mkdir(parents=True)
        for n in range(6):
            pixels = rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)
            pixels[..., 0 if name == "red" else 2] = 255
            Image.fromarray(pixels).save(rgb / name / f"{n}.png")
    for folder in (gray, rgb):
        run = tmp_path / f"run_{folder.name}"
        args = [
            "resnet18", str(folder), "--weights", "imagenet", "--freeze-epochs", "1",
            "--epochs", "1", "--batch-size", "4", "--run-dir", str(run), "--quiet",
        ]  # fmt: skip
        result = CliRunner().invoke(finetune_cmd, args)
        assert result.exit_code == 0, result.output
        record = json.loads((run / "phase1-head" / "run.json").read_text())
        assert '"mode": "torch"' in json.dumps(record), "the weights' preprocessing not recorded"


def test_convert_timm_safetensors_and_models_pretrained_lists_torchvision(tmp_path, keras_home):
    import zoo
    from cli.main import cli

    state, outputs = reference("resnet18", True)
    src = _published(tmp_path / "model.safetensors", state, "safetensors")
    out = tmp_path / "r18.weights.h5"
    result = CliRunner().invoke(cli, ["convert", str(src), "-o", str(out)])
    assert result.exit_code == 1 and "--arch" in result.output and str(src) in result.output
    result = CliRunner().invoke(cli, ["convert", str(src), "-o", str(out), "--arch", "resnet18"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "r18.weights.json").read_text())
    assert manifest["preprocessing"] == "torch" and manifest["source_kind"] == "safetensors"
    assert manifest["include_top"] is True and manifest["num_classes"] == 1000
    assert manifest["sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    options = {**manifest["options"], "input_shape": (64, 64, 3), "classifier_activation": None}
    model = zoo.build_model("resnet18", **options, weights=str(out))
    x = MAKE.inputs_of(MAKE.CASES["resnet18"])["x64"]
    _close(model(x), outputs["top_eval_64"], "converted")
    (keras_home / "models" / "vgg16_bn-6c64b313.pth").write_bytes(b"")
    result = CliRunner().invoke(cli, ["models", "--pretrained"])
    assert result.exit_code == 0, result.output
    table = result.output.split("ImageNet weights")[1].splitlines()
    r18 = next(line for line in table if line.startswith("resnet18 "))
    assert "resnet18-f37072fd.pth" in r18 and "69.76" in r18 and "torch" in r18
    assert r18.split()[-1] == "no"
    vgg = next(line for line in table if line.startswith("vgg16_bn "))
    assert "73.36" in vgg and vgg.split()[-1] == "yes"
    r50 = [line for line in table if line.startswith("resnet50 ")]
    assert [line.split()[1] for line in r50] == [
        "keras.applications",
        "torchvision-v2",
        "torchvision-v1",
    ]


def test_plain_imagenet_picks_the_source_that_fits_the_options():
    from zoo.bridge.imagenet import choose_source, full_options
    from zoo.transfer.backbone import _bridged_weights_setup
    from zoo.weights import WeightsError

    def chosen(arch, requested=None, **given):
        source = choose_source(arch, full_options(arch, given), requested)
        return getattr(source, "name", "keras"), getattr(source, "fname", None)

    assert chosen("resnet50") == ("torchvision-v2", "resnet50-11ad3fa6.pth")
    assert chosen("resnet50", stride_on="1x1")[0] == "keras"
    assert chosen("resnet50", "torchvision-v1")[1] == "resnet50-0676ba61.pth"
    assert chosen("resnet18")[0] == "torchvision-v1" and chosen("vgg13")[0] == "torchvision-v1"
    assert chosen("vgg16")[0] == "keras" and chosen("vgg16", "torchvision")[0] == "torchvision-v1"
    assert chosen("vgg16_bn")[1] == "vgg16_bn-6c64b313.pth"
    with pytest.raises(WeightsError, match="stride_on='1x1'"):
        chosen("resnet50", "keras")
    with pytest.raises(WeightsError, match="vgg16_bn|batch_norm=False"):
        chosen("vgg16", batch_norm=True)
    kwargs = {}
    assert _bridged_weights_setup("resnet50", "imagenet", kwargs) == {"mode": "torch"}
    assert kwargs["stride_on"] == "3x3"
    kwargs = {"stride_on": "1x1"}
    assert _bridged_weights_setup("resnet50", "imagenet", kwargs) == {"mode": "caffe"}
    assert _bridged_weights_setup("lenet5", "imagenet", {}) == {}


def test_torch_and_caffe_preprocessing_keep_one_and_four_channel_inputs():
    from zoo.training.preprocess import Preprocessing

    gray = np.full((1, 4, 4, 1), 255, np.uint8)
    out = Preprocessing(mode="torch")(gray)
    assert out.shape == (1, 4, 4, 1)
    np.testing.assert_allclose(
        out, (1 - np.mean([0.485, 0.456, 0.406])) / np.mean([0.229, 0.224, 0.225]), rtol=1e-6
    )
    assert Preprocessing(mode="caffe")(gray).shape == (1, 4, 4, 1)
    rgba = Preprocessing(mode="torch")(np.zeros((1, 2, 2, 4), np.uint8))
    np.testing.assert_allclose(
        rgba[0, 0, 0],
        -np.array([0.485, 0.456, 0.406, 0.485]) / np.array([0.229, 0.224, 0.225, 0.229]),
        rtol=1e-6,
    )
    rgb = Preprocessing(mode="torch")(np.zeros((1, 2, 2, 3), np.uint8))  # unchanged for RGB
    np.testing.assert_allclose(
        rgb[0, 0, 0], -np.array([0.485, 0.456, 0.406]) / np.array([0.229, 0.224, 0.225]), rtol=1e-6
    )


def test_other_torchvision_entries_resolve_through_the_same_table(keras_home):
    """AlexNet (zoo.bridge.tv_classic) and Inception v3 (zoo.bridge.torch_inception_v3) are
    table entries too: ``weights="imagenet"`` looks for torchvision's published file."""
    import zoo
    from zoo.weights import MissingWeightsError, imagenet_preprocessing

    cases = [
        ("alexnet_tv", {}, "imagenet", "alexnet-owt-7be5be79.pth"),
        ("inception_v3", {"bn_scale": True, "pool_include_pad": True}, "imagenet",
         "inception_v3_google-0cc3c7bd.pth"),
    ]  # fmt: skip
    for arch, options, weights, fname in cases:
        with pytest.raises(MissingWeightsError) as info:
            zoo.build_model(arch, include_top=False, weights=weights, **options)
        assert info.value.fname == fname and fname in str(info.value)
    assert imagenet_preprocessing("alexnet_tv", "imagenet") == "torch"
