"""Tests for zoo.data: screening, sources, the embedded sample.

Every bad file is crafted here with Pillow; no test touches the network.
"""

from __future__ import annotations

import importlib.util
import io
import os
import socket
import struct
import subprocess
import sys
import tarfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import heavy_imports
from PIL import Image

from zoo import data as zdata
from zoo.data import DataError, load, screen_folder, write_sample_folder

REPO = Path(__file__).resolve().parents[1]
SHARED_MNIST = REPO.parent / "shared" / "data" / "mnist.tar.gz"
SHARED_CIFAR10 = REPO.parent / "shared" / "data" / "cifar10.tar.gz"
CIFAR10_CLASSES = sorted(
    ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
)
SIZE = (16, 16)  # every good test image is 16x16 (W, H)


@pytest.fixture
def no_network(monkeypatch):
    """Makes any attempt to open a network connection fail the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("a test tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


# --------------------------------------------------------------------------- helpers


def _save(path: Path, image: Image.Image, **kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, **kwargs)
    return path


def _gray(seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (SIZE[1], SIZE[0]), dtype=np.uint8))


def _rgb(seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (SIZE[1], SIZE[0], 3), dtype=np.uint8))


def _png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose IHDR header declares ``width x height`` pixels."""
    buffer = io.BytesIO()
    Image.new("L", (1, 1)).save(buffer, format="PNG")
    raw = bytearray(buffer.getvalue())
    # Signature (8) + length (4) + b"IHDR" (4), then width, height, 5 bytes, CRC.
    raw[16:24] = struct.pack(">II", width, height)
    raw[29:33] = struct.pack(">I", zlib.crc32(bytes(raw[12:29])) & 0xFFFFFFFF)
    return bytes(raw)


def _class_folder(root: Path, name: str, count: int, *, color=False, start=0) -> None:
    for i in range(count):
        image = _rgb(start + i) if color else _gray(start + i)
        _save(root / name / f"{i:03d}.png", image)


@pytest.fixture
def messy_root(tmp_path) -> tuple[Path, dict[str, str], int]:
    """A folder with every kind of bad file; returns (root, skip reasons, usable)."""
    root = tmp_path / "messy"
    _class_folder(root, "cat", 4)
    _class_folder(root, "dog", 4, color=True, start=100)
    cat, dog = root / "cat", root / "dog"
    usable = 8
    # Unusual but valid images: kept and converted.
    _save(cat / "cmyk.jpg", Image.new("CMYK", SIZE, (10, 20, 30, 40)))
    _save(cat / "rgba.png", Image.new("RGBA", SIZE, (255, 0, 0, 128)))
    _save(cat / "sixteen.png", Image.fromarray(np.full((16, 16), 65535, np.uint16)))
    _save(dog / "palette.gif", _rgb(7).convert("P"))
    _save(dog / "onebit.png", Image.new("1", SIZE, 1))
    _save(dog / "plain.bmp", _rgb(8))
    usable += 6
    from PIL import features

    if features.check("webp"):
        _save(dog / "lossless.webp", _rgb(9), lossless=True)
        usable += 1
    _save(dog / "nested" / "deep.png", _rgb(10))  # subfolders of a class are read
    usable += 1
    # Bad files: skipped with a reason.
    (cat / "zero.png").write_bytes(b"")
    (cat / "text.jpg").write_text("this is not a JPEG\n")
    jpeg = io.BytesIO()
    _rgb(11).resize((64, 64)).save(jpeg, format="JPEG")
    (dog / "truncated.jpg").write_bytes(jpeg.getvalue()[: len(jpeg.getvalue()) // 2])
    (dog / "bomb.png").write_bytes(_png_declaring(20000, 20000))
    (dog / "over_cap.png").write_bytes(_png_declaring(10000, 5000))
    pcx = io.BytesIO()
    _gray(12).save(pcx, format="PCX")
    (cat / "pcx_named.png").write_bytes(pcx.getvalue())
    (cat / "notes.txt").write_text("labels are folder names")
    _save(cat / ".hidden.png", _gray(13))
    _save(cat / ".thumbs" / "x.png", _gray(14))
    (root / "README.md").write_text("not a class")
    os.symlink(cat / "000.png", dog / "link.png")
    expected = {
        "cat/zero.png": "zero-byte",
        "cat/text.jpg": "not an image",
        "dog/truncated.jpg": "truncated",
        "dog/bomb.png": "decompression bomb",
        "dog/over_cap.png": "decompression bomb",
        "cat/pcx_named.png": "unsupported format",
        "cat/notes.txt": "unsupported extension",
        "cat/.hidden.png": "hidden",
        "cat/.thumbs/": "hidden",
        "README.md": "outside any class folder",
        "dog/link.png": "symlink",
    }
    return root, expected, usable


# --------------------------------------------------------------------------- screening


def test_screen_reports_every_bad_file(messy_root):
    root, expected, usable = messy_root
    report = screen_folder(root)
    reasons = {s.path: s.reason for s in report.skipped}
    for path, reason in expected.items():
        assert path in reasons, f"{path} not reported; skipped: {reasons}"
        assert reason in reasons[path], (path, reasons[path])
    assert set(reasons) == set(expected)
    assert report.class_names == ("cat", "dog")
    assert report.num_images == usable
    assert sum(report.counts.values()) == usable
    assert {"CMYK", "RGBA", "I;16", "P", "1"} <= set(report.converted_modes)
    text = str(report)
    assert "decompression bomb" in text and "cat" in text and "CMYK" in text


def test_load_messy_folder_keeps_only_good_images(messy_root):
    root, _, usable = messy_root
    bundle = load(root, validation_split=0.0)
    x, y = bundle.train
    assert x.shape == (usable, 16, 16, 3) and x.dtype == np.uint8
    assert y.dtype == np.int32 and set(y.tolist()) == {0, 1}
    assert bundle.val is None and bundle.test is None
    assert bundle.input_shape == (16, 16, 3) and bundle.num_classes == 2
    assert bundle.screen_report.num_images == usable


def test_mode_conversions_keep_values():
    sixteen = Image.fromarray(np.full((4, 4), 65535, np.uint16))
    assert zdata.decode_image(_to_bytes(sixteen, "PNG")).max() == 255
    cmyk = zdata.decode_image(_to_bytes(Image.new("CMYK", (4, 4), (0, 0, 0, 0)), "JPEG"))
    assert cmyk.shape == (4, 4, 3) and cmyk.min() > 240  # no ink is white
    gray = zdata.decode_image(_to_bytes(_gray(1), "PNG"), channels=3, image_size=(8, 6))
    assert gray.shape == (8, 6, 3)
    assert np.array_equal(gray[..., 0], gray[..., 2])


def _to_bytes(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def test_empty_class_folder_raises(tmp_path):
    _class_folder(tmp_path, "a", 3)
    _class_folder(tmp_path, "b", 3)
    (tmp_path / "c").mkdir()
    with pytest.raises(DataError, match=r"Empty class folder.*\bc\b") as info:
        screen_folder(tmp_path)
    assert info.value.report is not None
    # A class whose files are all bad is empty too.
    (tmp_path / "c" / "bad.jpg").write_text("not an image")
    with pytest.raises(DataError, match="Empty class folder"):
        load(tmp_path)


def test_single_class_and_no_images_raise(tmp_path):
    _class_folder(tmp_path / "one", "only", 3)
    with pytest.raises(DataError, match="Only one class"):
        load(tmp_path / "one")
    (tmp_path / "none").mkdir()
    with pytest.raises(DataError, match="No class folders"):
        load(tmp_path / "none")
    with pytest.raises(DataError, match="does not exist"):
        load(tmp_path / "missing")


def test_mixed_sizes_need_image_size(tmp_path):
    _class_folder(tmp_path, "a", 2)
    _save(tmp_path / "b" / "big.png", Image.new("L", (20, 10)))
    with pytest.raises(DataError, match="image_size"):
        load(tmp_path)
    bundle = load(tmp_path, image_size=(12, 8), channels=1, validation_split=0)
    assert bundle.train[0].shape == (3, 12, 8, 1)


# --------------------------------------------------------------------------- sources


def test_npz_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    x_train = rng.integers(0, 256, (40, 8, 8), dtype=np.uint8)
    y_train = np.repeat(np.arange(4), 10)
    x_test = rng.integers(0, 256, (8, 8, 8), dtype=np.uint8)
    y_test = np.arange(8) % 4
    names = np.array(["w", "x", "y", "z"])
    path = tmp_path / "d.npz"
    np.savez(
        path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test, class_names=names
    )
    bundle = load(path, validation_split=0.25, batch_size=5)
    assert bundle.class_names == ("w", "x", "y", "z")
    assert bundle.input_shape == (8, 8, 1)
    assert bundle.num_examples("train") == 30 and bundle.num_examples("val") == 10
    assert sorted(np.bincount(bundle.val[1]).tolist()) == [2, 2, 3, 3]
    assert np.array_equal(bundle.test[0][..., 0], x_test)
    together = np.concatenate([bundle.train[0], bundle.val[0]])[..., 0]
    assert sorted(map(bytes, together)) == sorted(map(bytes, x_train))
    args = bundle.as_fit_args()
    assert args["batch_size"] == 5 and args["shuffle"] is True
    assert "shuffle" not in bundle.as_fit_args("test")
    assert "validation_data" in bundle.fit_kwargs()
    three = load(path, channels=3, image_size=4, split="test")
    assert three.test[0].shape == (8, 4, 4, 3) and three.train is None
    # The x/y form, float pixels kept as float32.
    np.savez(tmp_path / "xy.npz", x=x_train / 255.0, y=y_train)
    xy = load(tmp_path / "xy.npz", validation_split=0)
    assert xy.train[0].dtype == np.float32 and xy.class_names == ("0", "1", "2", "3")


def test_npz_refuses_bad_arrays(tmp_path):
    x = np.zeros((4, 8, 8), np.uint8)
    np.savez(tmp_path / "labels.npz", x=x, y=np.array([0, 1, 2, 5]), class_names=["a", "b"])
    with pytest.raises(DataError, match="beyond the class count"):
        load(tmp_path / "labels.npz")
    np.savez(tmp_path / "nan.npz", x=np.full((4, 8, 8), np.nan), y=np.array([0, 1, 0, 1]))
    with pytest.raises(DataError, match="NaN"):
        load(tmp_path / "nan.npz")
    np.savez(tmp_path / "obj.npz", x=np.array([x, None], dtype=object), y=np.array([0, 1]))
    with pytest.raises(DataError, match="pickle"):
        load(tmp_path / "obj.npz")
    np.savez(tmp_path / "keys.npz", images=x)
    with pytest.raises(DataError, match="found arrays"):
        load(tmp_path / "keys.npz")


def test_split_folder_layout(tmp_path):
    write_sample_folder(tmp_path, split="all", per_class=3)
    write_sample_folder(tmp_path / "validation", split="test", per_class=2)
    bundle = load(tmp_path)
    assert bundle.class_names == tuple(str(d) for d in range(10))
    assert bundle.num_examples("train") == 30
    assert bundle.num_examples("val") == 20
    assert bundle.num_examples("test") == 30
    assert bundle.screen_report.splits == ("train", "val", "test")
    assert bundle.input_shape == (28, 28, 1)
    only_test = load(tmp_path, split="test")
    assert only_test.train is None and only_test.val is None
    assert only_test.num_examples("test") == 30


def test_validation_split_is_seeded_and_stratified(tmp_path):
    for c, name in enumerate("abc"):
        _class_folder(tmp_path, name, 10, start=10 * c)
    first = load(tmp_path, validation_split=0.2, seed=1)
    again = load(tmp_path, validation_split=0.2, seed=1)
    other = load(tmp_path, validation_split=0.2, seed=2)
    assert np.array_equal(first.val[0], again.val[0])
    assert np.array_equal(first.train[0], again.train[0])
    assert first.fingerprint == again.fingerprint
    assert not np.array_equal(first.val[0], other.val[0])
    assert first.fingerprint != other.fingerprint
    assert np.bincount(first.val[1]).tolist() == [2, 2, 2]
    assert np.bincount(first.train[1]).tolist() == [8, 8, 8]


def test_fingerprint_changes_when_a_file_changes(tmp_path):
    _class_folder(tmp_path, "a", 3)
    _class_folder(tmp_path, "b", 3, start=10)
    before = load(tmp_path).fingerprint
    assert load(tmp_path).fingerprint == before
    pixels = np.asarray(Image.open(tmp_path / "a" / "001.png")).copy()
    pixels[0, 0] ^= 1  # one pixel, same size
    Image.fromarray(pixels).save(tmp_path / "a" / "001.png")
    assert load(tmp_path).fingerprint != before


@pytest.mark.backend
def test_streaming_when_over_memory_cap(tmp_path):
    _class_folder(tmp_path, "a", 5)
    _class_folder(tmp_path, "b", 5, start=10)
    bundle = load(tmp_path, max_in_memory_bytes=100, batch_size=4, validation_split=0.2)
    assert "streaming" in bundle.source
    train = bundle.train
    assert len(train) == 2 and bundle.num_examples("val") == 2
    x, y = train[0]
    assert x.shape == (4, 16, 16, 1) and x.dtype == np.uint8 and y.shape == (4,)
    # A file removed after screening does not end the epoch.
    for path in train.paths:
        os.remove(path)
        break
    with pytest.warns(UserWarning, match="Skipping"):
        batches = [train[i] for i in range(len(train))]
    assert sum(len(b[1]) for b in batches) == 8
    assert bundle.as_fit_args(batch_size=8)["x"].batch_size == 8


def test_tfds_not_prepared_gives_clear_message(tmp_path, no_network):
    pytest.importorskip("tensorflow_datasets")
    try:
        import tensorflow  # noqa: F401
    except ImportError:  # a host without TensorFlow: tfds cannot read, and says so
        with pytest.raises(DataError, match="needs TensorFlow to be read"):
            load("tfds:mnist", data_dir=tmp_path)
        return
    with pytest.raises(DataError) as info:
        load("tfds:mnist", data_dir=tmp_path)
    message = str(info.value)
    assert "not prepared" in message and str(tmp_path) in message
    assert "tfds build mnist" in message and "never downloads" in message
    with pytest.raises(DataError, match="Unknown tfds"):
        load("tfds:no_such_dataset_xyz", data_dir=tmp_path)


def test_tfds_prepared_data_set_loads(tmp_path, no_network):
    tfds = pytest.importorskip("tensorflow_datasets")
    pytest.importorskip("tensorflow")  # preparing writes tfrecord files

    class ZooTinyDigits(tfds.core.GeneratorBasedBuilder):
        VERSION = tfds.core.Version("1.0.0")

        def _info(self):
            features = tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Image(shape=(8, 8, 1)),
                    "label": tfds.features.ClassLabel(names=["a", "b"]),
                }
            )
            return tfds.core.DatasetInfo(
                builder=self, features=features, supervised_keys=("image", "label")
            )

        def _split_generators(self, dl_manager):
            return {"train": self._generate_examples(20), "test": self._generate_examples(6)}

        def _generate_examples(self, count):
            rng = np.random.default_rng(count)
            for i in range(count):
                image = rng.integers(0, 256, (8, 8, 1), dtype=np.uint8)
                yield i, {"image": image, "label": i % 2}

    ZooTinyDigits(data_dir=tmp_path).download_and_prepare()
    bundle = load("tfds:zoo_tiny_digits", data_dir=tmp_path, validation_split=0.2)
    assert bundle.class_names == ("a", "b") and bundle.input_shape == (8, 8, 1)
    assert bundle.num_examples("train") == 16 and bundle.num_examples("val") == 4
    assert bundle.num_examples("test") == 6 and bundle.train[0].dtype == np.uint8


def test_unknown_source_and_bad_arguments(tmp_path):
    (tmp_path / "x.csv").write_text("a,b")
    with pytest.raises(DataError, match="Unknown data source"):
        load(tmp_path / "x.csv")
    with pytest.raises(ValueError, match="channels"):
        load("mnist-sample", channels=2)
    with pytest.raises(ValueError, match="validation_split"):
        load("mnist-sample", validation_split=1.5)
    with pytest.raises(ValueError, match="Unknown split"):
        load("mnist-sample", split="dev")


# --------------------------------------------------------------------------- sample


def test_sample_loads_with_shapes_counts_and_classes():
    bundle = load("mnist-sample")
    assert bundle.class_names == tuple(str(d) for d in range(10))
    assert bundle.input_shape == (28, 28, 1)
    assert bundle.num_examples("train") == 4500
    assert bundle.num_examples("val") == 500
    assert bundle.num_examples("test") == 1000
    assert np.bincount(bundle.val[1]).tolist() == [50] * 10
    assert np.bincount(bundle.test[1]).tolist() == [100] * 10
    x = bundle.train[0]
    assert x.dtype == np.uint8 and x.max() == 255 and x.min() == 0
    assert load("sample", validation_split=0).num_examples("train") == 5000
    assert zdata.sample_path().stat().st_size < 3_000_000


def test_sample_folder_round_trip(tmp_path):
    root = write_sample_folder(tmp_path / "digits", per_class=4)
    bundle = load(root, validation_split=0.25)
    assert bundle.num_classes == 10 and bundle.input_shape == (28, 28, 1)
    assert bundle.num_examples("train") == 30 and bundle.num_examples("val") == 10
    arrays = zdata.load_sample_arrays()
    first_zero = arrays["x_train"][np.flatnonzero(arrays["y_train"] == 0)[0]]
    on_disk = np.asarray(Image.open(root / "0" / "0000.png"))
    assert np.array_equal(on_disk, first_zero[..., 0])


@pytest.mark.skipif(not SHARED_MNIST.is_file(), reason="../shared/data is absent")
def test_real_mnist_folder_subset(tmp_path):
    wanted = {"0": 0, "1": 0}  # digit -> files taken from mnist/test/<digit>/
    with tarfile.open(SHARED_MNIST, "r:gz") as archive:
        for member in archive:
            parts = member.name.split("/")
            if not (member.isfile() and parts[:2] == ["mnist", "test"] and len(parts) == 4):
                continue
            if wanted.get(parts[2], 10) < 10 and parts[3].endswith(".png"):
                wanted[parts[2]] += 1
                target = tmp_path.joinpath(*parts)  # names checked above: no ".."
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.extractfile(member).read())
            if all(n >= 10 for n in wanted.values()):
                break
    bundle = load(tmp_path / "mnist" / "test", validation_split=0)
    assert bundle.class_names == ("0", "1") and bundle.input_shape == (28, 28, 1)
    assert bundle.num_examples("train") == 20


def test_cifar10_sample_loads_with_shapes_counts_and_classes():
    bundle = load("cifar10-sample")
    assert bundle.class_names == tuple(CIFAR10_CLASSES)
    assert bundle.input_shape == (32, 32, 3)
    assert bundle.num_examples("train") == 450
    assert bundle.num_examples("val") == 50
    assert bundle.num_examples("test") == 1000
    assert np.bincount(bundle.train[1]).tolist() == [45] * 10
    assert np.bincount(bundle.val[1]).tolist() == [5] * 10
    assert np.bincount(bundle.test[1]).tolist() == [100] * 10
    x, y = bundle.test
    assert x.dtype == np.uint8 and x.shape == (1000, 32, 32, 3) and y.dtype == np.int32
    assert x.max() == 255 and x.min() == 0
    assert "cifar10-sample" in bundle.source
    assert load("CIFAR10-Sample", validation_split=0).num_examples("train") == 500
    # A different data set than the MNIST sample, and its own fingerprint.
    assert bundle.fingerprint != load("mnist-sample").fingerprint
    assert bundle.fingerprint == load("cifar10-sample").fingerprint
    assert zdata.sample_path("cifar10-sample").stat().st_size < 6_000_000


def test_cifar10_sample_arrays_are_class_by_class_with_source_ids():
    arrays = zdata.load_sample_arrays("cifar10-sample")
    assert arrays["class_names"].tolist() == CIFAR10_CLASSES
    for split, per_class in (("train", 50), ("test", 100)):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        ids = arrays[f"source_ids_{split}"]
        assert x.dtype == np.uint8 and x.shape == (10 * per_class, 32, 32, 3)
        assert y.dtype == np.uint8 and y.tolist() == np.repeat(np.arange(10), per_class).tolist()
        assert ids.dtype == np.int32 and len(ids) == len(y)
        for label in range(10):
            members = ids[y == label]
            assert np.all(np.diff(members) > 0)  # distinct, in file-name order
            assert members.min() >= 0 and members.max() < (5000 if split == "train" else 1000)
    # The MNIST sample stays the default of the helpers.
    assert zdata.load_sample_arrays()["x_train"].shape == (5000, 28, 28, 1)
    assert zdata.sample_path() == zdata.sample_path("mnist-sample")


def test_unknown_sample_name_suggests_the_shipped_ones():
    with pytest.raises(ValueError, match="Did you mean 'cifar10-sample'"):
        zdata.sample_path("cifar10-smaple")


def test_cifar10_sample_folder_round_trip(tmp_path):
    root = write_sample_folder(tmp_path / "cifar", split="test", per_class=2, name="cifar10-sample")
    bundle = load(root, validation_split=0)
    assert bundle.class_names == tuple(CIFAR10_CLASSES) and bundle.input_shape == (32, 32, 3)
    arrays = zdata.load_sample_arrays("cifar10-sample")
    first_cat = arrays["x_test"][np.flatnonzero(arrays["y_test"] == 3)[0]]
    on_disk = np.asarray(Image.open(root / "cat" / "0000.png"))
    assert np.array_equal(on_disk, first_cat)


@pytest.mark.skipif(not SHARED_CIFAR10.is_file(), reason="../shared/data is absent")
def test_cifar10_sample_images_equal_their_source_jpegs():
    """The first test image of every class, and a few train ones, decode to the stored pixels."""
    arrays = zdata.load_sample_arrays("cifar10-sample")
    picks = [("test", label, k) for label in range(10) for k in (0, -1)]
    picks += [("train", label, 0) for label in range(3)]  # early in the archive
    wanted = {}  # member name in the archive -> stored image
    for split, label, k in picks:
        i = np.flatnonzero(arrays[f"y_{split}"] == label)[k]
        file = f"{int(arrays[f'source_ids_{split}'][i]):04d}.jpg"
        wanted[f"cifar10/{split}/{CIFAR10_CLASSES[label]}/{file}"] = arrays[f"x_{split}"][i]
    found = {}
    with tarfile.open(SHARED_CIFAR10, "r:gz") as archive:
        for member in archive:
            if member.isfile() and member.name in wanted:
                found[member.name] = archive.extractfile(member).read()
                if len(found) == len(wanted):
                    break
    assert sorted(found) == sorted(wanted)
    for name, data in found.items():
        with Image.open(io.BytesIO(data)) as image:
            assert image.format == "JPEG" and image.size == (32, 32)
            decoded = np.asarray(image.convert("RGB"))
        assert np.array_equal(decoded, wanted[name]), name
        # What an image-folder load of the same file gives, too.
        assert np.array_equal(zdata.decode_image(data), wanted[name]), name


# --------------------------------------------------------------------------- backends


def _run(code: str, **env) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(REPO), **env}
    return subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_import_is_light():
    assert heavy_imports("import zoo.data", ("keras", "tensorflow", "jax", "PIL")) == []


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax not installed")
def test_loads_and_fits_under_jax_without_tensorflow(tmp_path):
    code = f"""
import sys
import zoo.data
bundle = zoo.data.load("mnist-sample", split=("train", "test"), validation_split=0)
assert bundle.train[0].shape == (5000, 28, 28, 1)
root = zoo.data.write_sample_folder({str(tmp_path)!r}, per_class=3)
streamed = zoo.data.load(root, max_in_memory_bytes=1, batch_size=10)
import keras
assert keras.backend.backend() == "jax"
model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Rescaling(1 / 255),
                          keras.layers.Flatten(), keras.layers.Dense(10)])
model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
x, y = bundle.train
model.fit(x[:64], y[:64], batch_size=32, epochs=1, verbose=0)
model.fit(**streamed.fit_kwargs(), epochs=1, verbose=0)
assert "tensorflow" not in sys.modules, "tensorflow was imported"
print("ok")
"""
    result = _run(code, KERAS_BACKEND="jax")
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")
