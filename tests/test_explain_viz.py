"""Seeing inside (issue 15): Grad-CAM, first-layer filters and feature maps, and their commands.

Grad-CAM is checked on a real model with fixed weights whose answer depends on one known region:
a "red detector" channel and a "green detector" channel, global average pooling and a classifier
that reads only the red channel. On an image with a red square (the answer) and a green square
(a distractor), the heat map of the predicted class must sit on the red square and be zero on
the green one.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_cli_feedback import FORBIDDEN, _zoo

RED = (slice(2, 8), slice(14, 20))  # rows, columns of the red square
GREEN = (slice(15, 21), slice(3, 9))


def _region_model():
    """Conv 3x3 (red, green detectors), ReLU, global average pooling, Dense read of red only."""
    import keras

    inputs = keras.Input((24, 24, 3), name="input")
    conv = keras.layers.Conv2D(2, 3, padding="same", activation="relu", name="conv")
    x = keras.layers.GlobalAveragePooling2D(name="pool")(conv(inputs))
    dense = keras.layers.Dense(2, activation="softmax", name="predictions")
    model = keras.Model(inputs, dense(x), name="region")
    kernel = np.zeros((3, 3, 3, 2), np.float32)
    kernel[1, 1, 0, 0], kernel[1, 1, 1, 0] = 1.0, -1.0  # red minus green
    kernel[1, 1, 1, 1], kernel[1, 1, 0, 1] = 1.0, -1.0  # green minus red
    conv.set_weights([kernel, np.zeros(2, np.float32)])
    # class 1 ("red present") rises with the red channel's mean; class 0 is a constant.
    dense.set_weights([np.array([[0.0, 40.0], [0.0, 0.0]], np.float32), np.array([0.0, -1.0])])
    return model


def _image() -> np.ndarray:
    img = np.zeros((24, 24, 3), np.uint8)
    img[RED] = (255, 0, 0)
    img[GREEN] = (0, 255, 0)
    return img


@pytest.mark.backend
def test_grad_cam_highlights_the_region_the_answer_depends_on():
    from zoo.evaluate.explain import default_cam_layer, grad_cam

    model = _region_model()
    x = _image()[None].astype(np.float32) / 255.0
    assert default_cam_layer(model) == "conv"
    cams, classes = grad_cam(model, x)
    cam = cams[0]
    assert classes.tolist() == [1] and cam.shape == (24, 24)
    assert cam[RED].min() > 0.99  # the answer's region, fully
    outside = np.ones_like(cam, bool)
    outside[1:9, 13:21] = False  # the red square and its 1-pixel rim (3x3 kernel)
    assert cam[outside].max() == 0.0  # the green distractor and the background: nothing
    # Explaining the other class (a constant score) gives an empty map, not the same one.
    assert grad_cam(model, x, class_index=0)[0].max() == 0.0


def test_explain_writes_a_heat_map_png_per_image_from_a_saved_model(tmp_path):
    from PIL import Image

    from zoo.evaluate.explain import explain
    from zoo.saving import save_model

    save_model(_region_model(), tmp_path / "region.keras")
    for name in ("a", "b"):
        Image.fromarray(_image()).save(tmp_path / f"{name}.png")
    images = [tmp_path / "a.png", tmp_path / "b.png"]
    results = explain(tmp_path / "region.keras", images, tmp_path / "out")
    assert [r.class_name for r in results] == ["1", "1"] and results[0].probability > 0.8
    for r, stem in zip(results, ("a", "b"), strict=True):
        assert r.path == str(tmp_path / "out" / f"{stem}_gradcam.png")
        assert Image.open(r.path).format == "PNG"
    with pytest.raises(ValueError, match="Unknown class 'cat'"):
        explain(tmp_path / "region.keras", images[:1], tmp_path / "out", class_name="cat")
    with pytest.raises(ValueError, match="has no layer 'nope'; it has conv"):
        explain(tmp_path / "region.keras", images[:1], tmp_path / "out", layer="nope")


def test_filters_and_maps_pngs_hold_one_panel_per_filter_and_map(tmp_path):
    from PIL import Image

    from zoo.evaluate.viz import PANEL_INCHES, grid_shape, plot_feature_maps, plot_filters

    model = _region_model()
    filters = plot_filters(model, tmp_path / "f.png")
    assert (filters.layer, filters.panels) == ("conv", 2)
    x = _image().astype(np.float32) / 255.0
    maps = plot_feature_maps(model, x, "conv", tmp_path / "m.png", max_maps=1)
    assert (maps.layer, maps.panels) == ("conv", 1)
    for result in (filters, maps):  # the PNG's size is the grid's: one panel per item
        rows, cols = grid_shape(result.panels)
        size = Image.open(result.path).size
        assert size == (round(cols * PANEL_INCHES * 100), round((rows * PANEL_INCHES + 0.4) * 100))
    assert grid_shape(6) == (2, 3) and grid_shape(16) == (4, 4) and grid_shape(17) == (4, 5)
    with pytest.raises(ValueError, match="not feature maps"):
        plot_feature_maps(model, x, "pool", tmp_path / "p.png")


@pytest.mark.parametrize(
    "args, said",
    [
        (["explain", "lenet5-mnist", "a.png"], "zoo explain: Grad-CAM of lenet5-mnist on 1 image"),
        (["viz", "filters", "lenet5-mnist"], "zoo viz filters: filters of lenet5-mnist into"),
        (
            ["viz", "maps", "lenet5-mnist", "a.png", "--layer", "c1"],
            "zoo viz maps: c1 maps of lenet5-mnist on a.png into a_c1_maps.png",
        ),
    ],
)
def test_commands_say_what_they_do_before_loading_the_backend(args, said, tmp_path):
    result = _zoo(args, tmp_path)
    lines = result.stderr.splitlines()
    assert result.returncode != 0 and lines and lines[0].startswith(said), result.stderr
    assert lines[0].endswith(", loading TensorFlow\u2026")
    assert FORBIDDEN in result.stderr  # the backend import came after the line
