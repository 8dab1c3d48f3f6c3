"""``zoo convert`` / `zoo.bridge.convert` and the ImageNet table of ``zoo models --pretrained``.

The sources are written in the published keras.applications ``.h5`` layout from a seeded
``keras.applications.VGG16`` at 64x64 (`test_bridge.reference`); no network.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil

import numpy as np
import pytest
from click.testing import CliRunner
from test_bridge import reference

from cli.main import cli

NOTOP = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """(top file under a name of the test's own, notop file under its published name)."""
    folder = str(tmp_path_factory.mktemp("published"))
    top_file, notop_file, *_ = reference("vgg16", folder)
    published = os.path.join(folder, NOTOP)
    shutil.copyfile(notop_file, published)
    return top_file, published


def _outputs(model) -> np.ndarray:
    x = np.random.default_rng(0).normal(0, 40, (2, 64, 64, 3)).astype("float32")
    return np.asarray(model(x))


def test_notop_file_converts_to_weights_that_load_back_alike(sources, tmp_path):
    import zoo
    from zoo.bridge import convert

    _, src = sources
    out = str(tmp_path / "vgg16.weights.h5")
    manifest = convert(src, out)
    with open(tmp_path / "vgg16.weights.json") as f:
        assert json.load(f) == manifest
    with open(src, "rb") as f:
        assert manifest["sha256"] == hashlib.sha256(f.read()).hexdigest()
    assert manifest["source"] == NOTOP and manifest["url"].endswith("/vgg16/" + NOTOP)
    assert manifest["architecture"] == "vgg16" and manifest["preprocessing"] == "caffe"
    assert manifest["include_top"] is False and "num_classes" not in manifest
    options = manifest["options"]
    assert options["include_top"] is False and options["batch_norm"] is False
    converted = zoo.build_model("vgg16", input_shape=(64, 64, 3), **options, weights=out)
    direct = zoo.build_model("vgg16", input_shape=(64, 64, 3), include_top=False, weights=src)
    want = _outputs(direct)
    assert float(np.abs(want).max()) > 0
    np.testing.assert_array_equal(_outputs(converted), want)


def test_cli_converts_a_top_file_with_arch_and_refuses_to_overwrite(sources, tmp_path):
    import zoo

    top_file, _ = sources
    out = str(tmp_path / "top.weights.h5")
    args = ["convert", top_file, "-o", out, "--arch", "vgg16"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "top.weights.json" in result.output
    steps = [line for line in result.output.splitlines() if line.startswith("converting ")]
    assert steps[0] == "converting 0/3 steps", result.output  # issue 17: progress on conversion
    assert steps[-1] == "converting 3/3 steps done", result.output
    with open(tmp_path / "top.weights.json") as f:
        manifest = json.load(f)
    assert manifest["include_top"] is True and manifest["num_classes"] == 1000
    assert manifest["options"]["input_shape"] == [64, 64, 3]  # from the file's fc1
    converted = zoo.build_model("vgg16", **manifest["options"], weights=out)
    direct = zoo.build_model("vgg16", input_shape=(64, 64, 3), weights=top_file)
    np.testing.assert_array_equal(_outputs(converted), _outputs(direct))
    again = CliRunner().invoke(cli, args)
    assert again.exit_code != 0 and "--force" in again.output


def test_bad_sources_get_one_line_errors_naming_the_file(sources, tmp_path):
    top_file, notop = sources
    junk = tmp_path / NOTOP
    junk.write_bytes(b"not hdf5 at all" * 100)
    out = str(tmp_path / "x.weights.h5")
    cases = [
        ([str(junk)], str(junk), "corrupted or truncated"),
        ([top_file], top_file, "cannot tell the architecture"),
        ([notop, "--arch", "vgg19"], notop, "another architecture"),
        ([notop, "--arch", "lenet5"], notop, "no keras.applications weights"),
        ([str(tmp_path / "absent.h5")], "absent.h5", "does not exist"),
    ]
    for args, named, said in cases:
        result = CliRunner().invoke(cli, ["convert", *args, "-o", out])
        assert result.exit_code == 1, (args, result.output)
        # the progress counter (stderr) may precede the error, which is one line
        lines = [ln for ln in result.output.strip().splitlines() if not ln.startswith("converting")]
        assert len(lines) == 1 and lines[0].startswith("Error:"), result.output
        assert named in lines[0] and said in lines[0], lines[0]
        assert not os.path.exists(out) and not os.path.exists(tmp_path / "x.weights.json")
    bad_out = CliRunner().invoke(cli, ["convert", notop, "-o", str(tmp_path / "x.h5")])
    assert bad_out.exit_code == 2 and ".weights.h5" in bad_out.output


def test_available_weights_and_models_pretrained_say_what_is_cached(tmp_path, monkeypatch):
    from zoo.bridge import available_weights

    (tmp_path / "models").mkdir()
    (tmp_path / "models" / NOTOP).write_bytes(b"")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    rows = {w["arch"]: w for w in available_weights() if w["source"] == "keras.applications"}
    assert set(rows) == {"vgg16", "vgg19", "resnet50", "resnet101", "resnet152", "inception_v3"}
    assert rows["vgg16"]["notop"] == NOTOP and rows["vgg16"]["cached_notop"] is True
    assert rows["vgg16"]["cached_top"] is False and not rows["resnet50"]["cached_notop"]
    assert rows["resnet50"]["options"]["stride_on"] == "1x1"
    assert {w["source"] for w in rows.values()} == {"keras.applications"}
    assert {w["preprocessing"] for w in rows.values()} == {"caffe", "tf"}
    assert rows["inception_v3"]["preprocessing"] == "tf"  # scaled to [-1, 1]
    result = CliRunner().invoke(cli, ["models", "--pretrained"])
    assert result.exit_code == 0, result.output
    table = result.output.split("ImageNet weights")[1].splitlines()
    vgg16 = next(line for line in table if line.startswith("vgg16 "))
    assert "keras.applications" in vgg16 and "caffe" in vgg16 and vgg16.split()[-1] == "notop"
    resnet = next(line for line in table if line.startswith("resnet50 "))
    assert resnet.split()[-1] == "no"
    only = CliRunner().invoke(cli, ["models", "--pretrained", "resnet1*"])
    assert "vgg16" not in only.output and "resnet101" in only.output
