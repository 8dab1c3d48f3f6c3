"""Hostile and careless inputs: each gives one line naming the file or option, never a traceback.

The corpus is `CASES`: one row per hostile input, ``(id, make, fragments)``.
``make(tmp, run)`` writes the hostile files under ``tmp`` (``run`` is a real
finished run directory to copy) and returns the ``zoo`` command line (or
``(argv, environment)``); the
command must exit non-zero, print no traceback, and print every fragment
(``{tmp}`` stands for the folder). To cover a new hostile input, add a row.

Behaviour that is not an error (a forced resume keeps the run's config, a
failed start leaves no run behind, Ctrl-C says how to resume, ``--debug``
shows the traceback) is tested below the corpus.
"""

from __future__ import annotations

import functools
import io
import json
import os
import shutil
import zipfile

import numpy as np
import pytest

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:.*trying its backup:UserWarning"),
]

DEEP = 100_000


def _invoke(args, env=None):
    from click.testing import CliRunner

    from cli.main import cli

    return CliRunner().invoke(cli, [str(a) for a in args], env=env)


def _npz(path, y, x=None, **extra):
    x = (
        np.random.default_rng(0).integers(0, 255, (len(y), 12, 12), dtype=np.uint8)
        if x is None
        else x
    )
    np.savez(path, x=x, y=np.asarray(y), **extra)
    return path


@pytest.fixture(scope="module")
def data_npz(tmp_path_factory):
    """60 random 12x12 images of 3 classes, with a validation split."""
    rng = np.random.default_rng(1)
    path = tmp_path_factory.mktemp("data") / "tiny.npz"
    x = rng.integers(0, 255, (60, 12, 12), dtype=np.uint8)
    np.savez(path, x_train=x[:48], y_train=np.arange(48) % 3, x_val=x[48:], y_val=np.arange(12) % 3)
    return path


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, data_npz):
    """A real 2-epoch run (learning rate 0.002, cosine schedule) to copy and damage."""
    run = tmp_path_factory.mktemp("runs") / "run"
    result = _invoke(["train", "mlp", "--data", data_npz, "--run-dir", run, "--epochs", 2,
                      "--learning-rate", 0.002, "--schedule", "cosine", "--batch-size", 16,
                      "--seed", 1, "--quiet", "--model-arg", "hidden_units=[8]"])  # fmt: skip
    assert result.exit_code == 0, result.output
    return run


def _copy_run(tmp, run):
    target = tmp / "run"
    shutil.copytree(run, target)
    return target


def _list_run(tmp, run):
    target = _copy_run(tmp, run)
    _write(target / "run.json", "[]")
    return target


def _bad_config_run(tmp, run):
    return _damaged_copy(tmp, run, lambda d: {**d, "config": {**d["config"], "epochs": -3}})


def _damaged_copy(tmp, run, change):
    """A copy of the finished run, its run.json changed by ``change(dict) -> dict``."""
    target = _copy_run(tmp, run)
    _edit_json("run.json", change)(target)
    return target


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def _damaged_run(edit):
    """A copy of the finished run with ``edit(run_dir)`` applied, resumed."""

    def make(tmp, run):
        target = _copy_run(tmp, run)
        edit(target)
        return ["train", "--resume", target, "--quiet"]

    return make


def _model_file(tmp, damage):
    """A real .keras file, damaged by ``damage(bytes) -> bytes``."""
    import zoo
    from zoo.saving import save_model

    good = tmp / "good.keras"
    save_model(zoo.build_model("mlp", input_shape=(12, 12, 1), num_classes=3), good)
    bad = tmp / "bad.keras"
    bad.write_bytes(damage(good.read_bytes()))
    return bad


def _flip_crc(data: bytes) -> bytes:
    import io

    info = zipfile.ZipFile(io.BytesIO(data)).getinfo("model.weights.h5")
    at = info.header_offset + 30 + len(info.filename) + len(info.extra) + 64
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]


def _image(tmp):
    from PIL import Image

    Image.fromarray(np.zeros((12, 12), np.uint8)).save(tmp / "img.png")
    return tmp / "img.png"


def _predict(damage):
    return lambda tmp, run: ["predict", _model_file(tmp, damage), _image(tmp)]


def _evaluate(damage):
    def make(tmp, run):
        return ["evaluate", _model_file(tmp, damage), "--data", _npz(tmp / "d.npz", [0, 1, 2] * 4)]

    return make


def _h5(data: bytes) -> bytes:
    return b"\x89HDF\r\n\x1a\n" + b"\0" * 512


def _train_on(y=None, onehot=None, raw=None):
    def make(tmp, run):
        path = tmp / "labels.npz"
        if raw is not None:
            path.write_bytes(raw(tmp))
        elif onehot is not None:
            _npz(path, np.asarray(onehot, np.float32))
        else:
            _npz(path, y)
        return ["train", "mlp", "--data", path, "--epochs", 1, "--run-dir", tmp / "r", "--quiet"]

    return make


def _truncated_npz(tmp):
    full = _npz(tmp / "full.npz", [0, 1, 2] * 10).read_bytes()
    return full[: len(full) // 2]


def _crc_npz(tmp):
    data = bytearray(_npz(tmp / "full.npz", [0, 1, 2] * 10).read_bytes())
    data[200] ^= 0xFF
    return bytes(data)


BOMB_MIB = 1500


@functools.lru_cache(maxsize=1)
def _cached_bomb() -> bytes:
    """A ~1.5 MB ``.keras`` whose config.json inflates to 1.5 GB (spaces deflate ~1000x)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("metadata.json", '{"keras_version": "3.0.0"}')
        info = zipfile.ZipInfo("config.json")
        info.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(info, "w", force_zip64=True) as fh:
            fh.write(b"{")
            for _ in range(BOMB_MIB):
                fh.write(b" " * (1 << 20))
            fh.write(b"}")
    return buffer.getvalue()


def _bomb(tmp):
    path = tmp / "bomb.keras"
    path.write_bytes(_cached_bomb())
    return path


def _npz_bomb(tmp):
    """An .npz whose x_train (a valid 32 MiB uint8 array of zeros) deflates ~1000x."""
    path = tmp / "full.npz"
    np.savez_compressed(path, x_train=np.zeros((1 << 18, 128), np.uint8), y_train=[0, 1])
    return path.read_bytes()


def _checkpoint(tmp, change, by="name"):
    """A copy of the shipped lenet5-mnist checkpoint, its manifest changed by ``change(dict)``."""
    from zoo.saved_models import shipped_root

    root = tmp / "sm"
    shutil.copytree(shipped_root() / "lenet5-mnist", root / "ck")
    path = root / "ck" / "manifest.json"
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))
    if by == "name":
        return ["predict", "ck", _image(tmp)], {"ZOO_SAVED_MODELS": str(root)}
    return ["predict", root / "ck", _image(tmp)], None


def _manifest(change, by="name"):
    return lambda tmp, run: _checkpoint(tmp, change, by)


def _redigest(change):
    """``change``, then the manifest's own hash recomputed (as a careful forger would)."""

    def apply(manifest):
        from zoo.saved_models import manifest_digest

        change(manifest)
        manifest["manifest_sha256"] = manifest_digest(manifest)

    return apply


def _bad_images(tmp):
    """A truncated PNG and a text file named .png."""
    good = _image(tmp).read_bytes()
    (tmp / "truncated.png").write_bytes(good[: len(good) // 2])
    _write(tmp / "text.png", "not an image\n")
    return tmp / "truncated.png", tmp / "text.png"


def _config(name, text):
    def make(tmp, run):
        path = tmp / name
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        return ["train", "mlp", "--config", path, "--run-dir", tmp / "r"]

    return make


def _remove_state(run_dir):
    os.remove(run_dir / "state.json")


def _edit_json(name, change):
    def edit(run_dir):
        path = run_dir / name
        path.write_text(json.dumps(change(json.loads(path.read_text()))))

    return edit


def _huge_pad(record):
    return {**record, "preprocessing": {**record["preprocessing"], "pad_to": [40000, 40000]}}


def _search_dir(tmp, text):
    """A search folder whose search.json is ``text`` (no backup beside it)."""
    folder = tmp / "search"
    folder.mkdir()
    _write(folder / "search.json", text)
    return folder


def _tune(tmp, *extra):
    data = _npz(tmp / "d.npz", [0, 1, 2] * 10)
    return ["tune", "mlp", "--data", data, "--max-trials", 1, "--max-epochs", 1, *extra]


def _backbone_file(change):
    """``finetune`` of a checkpoint's model.keras by path, its manifest changed by ``change``."""

    def make(tmp, run):
        argv, _ = _checkpoint(tmp, change, by="path")
        data = _npz(tmp / "d.npz", [0, 1, 2] * 10)
        return ["finetune", argv[1] / "model.keras", data, "--freeze-epochs", 1, "--quiet"]

    return make


def _unknown_function(data: bytes) -> bytes:
    """config.json's first ``relu`` replaced by a function of a module that does not exist."""
    source = zipfile.ZipFile(io.BytesIO(data))
    config = source.read("config.json").decode()
    evil = '{"module": "evil.module", "class_name": "function", "config": "boom", "registered_name": "function"}'
    config = config.replace('"activation": "relu"', f'"activation": {evil}', 1)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            name = item.filename
            target.writestr(item, config if name == "config.json" else source.read(name))
    return out.getvalue()


def _truncated_weights(tmp):
    import zoo

    path = tmp / "trunc.weights.h5"
    zoo.build_model("mlp", input_shape=(12, 12, 1), num_classes=3).save_weights(path)
    path.write_bytes(path.read_bytes()[:4096])
    return path


ONE_HOT_TWO = [[1, 0, 0], [0, 2, 0], [0, 0, 1]] * 4
ONE_HOT_SUM = [[1, 0, 0], [0, 1, 1], [0, 0, 1]] * 4

#: (id, make(tmp, finished_run) -> argv, fragments the one-line error must hold)
CASES = [
    # --- run files
    ("run.json is []", _damaged_run(lambda r: _write(r / "run.json", "[]")), ["run.json", "not a JSON object"]),
    ("run.json without config", _damaged_run(_edit_json("run.json", lambda d: {k: v for k, v in d.items() if k != "config"})), ["run.json", "lacks 'config'"]),
    ("run.json nested 100k deep", _damaged_run(lambda r: _write(r / "run.json", "[" * DEEP)), ["run.json", "nested too deep"]),
    ("run.json not JSON", _damaged_run(lambda r: _write(r / "run.json", '{"model": }')), ["run.json", "invalid JSON", "line 1"]),
    ("state.json without history", _damaged_run(_edit_json("state.json", lambda d: {"epoch": d["epoch"]})), ["state.json", "history", "--overwrite-run"]),
    ("state.json missing, epochs left", _damaged_run(_remove_state), ["state.json is missing", "history.csv (2 epochs)", "--overwrite-run"]),
    ("state.json truncated", _damaged_run(lambda r: _write(r / "state.json", '{"epoch": 2, "hist')), ["state.json", "unreadable", "model.keras"]),
    ("predict: run.json is []", lambda tmp, run: ["predict", _list_run(tmp, run), _image(tmp)], ["run.json", "not a JSON object"]),
    ("predict: run.json config invalid", lambda tmp, run: ["predict", _bad_config_run(tmp, run), _image(tmp)], ["run.json", "config is invalid", "epochs"]),
    # --- config files
    ("--config JSON 100k deep", _config("deep.json", "[" * DEEP), ["deep.json", "nested too deep"]),
    ("--config YAML 100k deep", _config("deep.yaml", "[" * DEEP), ["deep.yaml", "nested too deep"]),
    ("--config JSON error names the file", _config("bad.json", '{\n  "epochs": \n}'), ["bad.json", "invalid JSON", "line 3"]),
    ("--config unknown key names the file", _config("keys.yaml", "epochz: 3\n"), ["keys.yaml", "epochz"]),
    ("--config not UTF-8", _config("latin.json", b'{"monitor": "\xe9"}'), ["latin.json", "not UTF-8"]),
    # --- model files
    ("predict: CRC-corrupted .keras", _predict(_flip_crc), ["bad.keras", "cannot be loaded", "Bad CRC-32"]),
    ("evaluate: CRC-corrupted .keras", _evaluate(_flip_crc), ["bad.keras", "cannot be loaded"]),
    ("predict: truncated .keras", _predict(lambda d: d[: len(d) // 2]), ["bad.keras", "not a '.keras' archive"]),
    ("predict: .h5 renamed .keras", _predict(_h5), ["bad.keras", "not a '.keras' archive"]),
    ("predict: .keras config.json inflating to 1.5 GB", lambda tmp, run: ["predict", _bomb(tmp), _image(tmp)], ["bomb.keras", "'config.json'", "1,572,864,002 bytes", "cap of 67,108,864 for JSON"]),
    ("evaluate: .keras config.json inflating to 1.5 GB", lambda tmp, run: ["evaluate", _bomb(tmp), "--data", _npz(tmp / "d.npz", [0, 1, 2] * 4)], ["bomb.keras", "'config.json'", "zip bomb"]),
    ("finetune: .keras config.json inflating to 1.5 GB", lambda tmp, run: ["finetune", _bomb(tmp), _npz(tmp / "d.npz", [0, 1, 2] * 4), "--run-dir", tmp / "r"], ["bomb.keras", "'config.json'", "zip bomb"]),
    ("predict: .keras config names an unknown function", _predict(_unknown_function), ["bad.keras", "cannot be loaded", "TypeError"]),
    ("finetune: truncated .weights.h5", lambda tmp, run: ["finetune", "mlp", _npz(tmp / "d.npz", [0, 1, 2] * 10), "--weights", _truncated_weights(tmp)], ["trunc.weights.h5", "cannot be read"]),
    ("predict: checkpoint name 'evil\\n'", lambda tmp, run: ["predict", "evil\n", _image(tmp)], ["'evil\\n'"]),
    # --- data files
    ("predict: every image bad", lambda tmp, run: ["predict", run, *_bad_images(tmp)], ["none of the 2 image file(s)", "truncated.png"]),
    # --- checkpoint manifests (by published name and by folder path)
    ("manifest: class_names reordered", _manifest(lambda m: m["class_names"].reverse()), ["ck/manifest.json", "manifest_sha256", "modified"]),
    ("manifest: preprocessing changed", _manifest(lambda m: m["preprocessing"].update(scale=1.0)), ["ck/manifest.json", "modified"]),
    ("manifest by path: class_names reordered", _manifest(lambda m: m["class_names"].reverse(), "path"), ["ck/manifest.json", "modified"]),
    ("manifest by path: no 'files'", _manifest(lambda m: m.pop("files"), "path"), ["ck/manifest.json", "no 'files' mapping"]),
    ("manifest by path: files lists no model", _manifest(lambda m: m.update(files={}), "path"), ["ck/manifest.json", "lists no '.keras' model file"]),
    ("manifest: no manifest_sha256", _manifest(lambda m: m.pop("manifest_sha256")), ["ck/manifest.json", "has no 'manifest_sha256'"]),
    ("manifest: pad_to [40000, 40000]", _manifest(_redigest(lambda m: m["preprocessing"].update(pad_to=[40000, 40000]))), ["ck/manifest.json", "preprocessing.pad_to [40000, 40000]", "4096"]),
    ("manifest by path: pad_to [40000, 40000]", _manifest(_redigest(lambda m: m["preprocessing"].update(pad_to=[40000, 40000])), "path"), ["ck/manifest.json", "preprocessing.pad_to"]),
    # --- data files
    ("npz labels 0-9 plus one 42", _train_on(y=list(range(10)) * 3 + [42]), ["labels.npz", "[42]", "look wrong"]),
    ("npz labels x1000", _train_on(y=[i * 1000 for i in range(10)] * 3), ["labels.npz", "1000", "look wrong"]),
    ("npz one-hot row holding a 2", _train_on(onehot=ONE_HOT_TWO), ["labels.npz", "one-hot", "[0.0, 2.0, 0.0]"]),
    ("npz one-hot row summing to 2", _train_on(onehot=ONE_HOT_SUM), ["labels.npz", "one-hot", "[0.0, 1.0, 1.0]"]),
    ("npz truncated", _train_on(raw=_truncated_npz), ["labels.npz", "truncated or corrupted"]),
    ("npz CRC-corrupted", _train_on(raw=_crc_npz), ["labels.npz", "truncated or corrupted"]),
    ("npz member deflating 1000x", _train_on(raw=_npz_bomb), ["labels.npz", "'x_train.npy'", "times", "ZOO_MAX_MEMBER_BYTES"]),
    # --- options refused before any data is read (the data named does not exist)
    ("--monitor val_bogus", lambda tmp, run: ["train", "mlp", "--monitor", "val_bogus", "--data", tmp / "absent.npz"], ["monitor", "val_bogus", "val_loss, val_accuracy, loss, accuracy"]),
    ("--seed -1", lambda tmp, run: ["train", "mlp", "--seed", -1, "--data", tmp / "absent.npz"], ["--seed", "-1"]),
    ("--seed 2**32", lambda tmp, run: ["train", "mlp", "--seed", 2**32, "--data", tmp / "absent.npz"], ["--seed", "4294967296"]),
    ("--seed not a number nor 'random'", lambda tmp, run: ["train", "mlp", "--seed", "often", "--data", tmp / "absent.npz"], ["--seed", "often"]),
    # --- sizes read from a run's run.json (not covered by a hash): bounded like a manifest's
    ("predict: run.json pad_to [40000, 40000]", lambda tmp, run: ["predict", _damaged_copy(tmp, run, _huge_pad), _image(tmp)], ["run.json", "preprocessing.pad_to", "4096"]),
    ("resume: run.json pad_to [40000, 40000]", _damaged_run(_edit_json("run.json", _huge_pad)), ["run.json", "preprocessing.pad_to", "4096"]),
    # --- a backbone given as a .keras path: its manifest.json's preprocessing is hash-checked
    ("finetune: backbone manifest preprocessing changed", _backbone_file(lambda m: m["preprocessing"].update(scale=1.0)), ["ck/manifest.json", "modified"]),
    ("finetune: backbone manifest without manifest_sha256", _backbone_file(lambda m: m.pop("manifest_sha256")), ["ck/manifest.json", "manifest_sha256"]),
    # --- tuning
    ("tune: search.json truncated, no backup", lambda tmp, run: _tune(tmp, "--space", "dropout=0.1,0.2", "--resume", _search_dir(tmp, '{"model": "mlp", "da')), ["search.json", "cannot be read", "--overwrite-run"]),
    ("tune: --space dropout=abc", lambda tmp, run: _tune(tmp, "--space", "dropout=abc", "-d", tmp / "r"), ["'dropout'", "'abc'"]),
    ("tune: --space dropout=0.1,1.5", lambda tmp, run: _tune(tmp, "--space", "dropout=0.1,1.5", "-d", tmp / "r"), ["'dropout'", "1.5", "[0, 1)"]),
    # --- fine-tuning options refused before any training
    ("finetune --unfreeze 99", lambda tmp, run: ["finetune", "lenet5-mnist", _npz(tmp / "d.npz", [0, 1, 2] * 10), "--unfreeze", 99, "--quiet"], ["--unfreeze 99", "has 3 blocks"]),
    ("finetune --unfreeze no_such_prefix", lambda tmp, run: ["finetune", "lenet5-mnist", _npz(tmp / "d.npz", [0, 1, 2] * 10), "--unfreeze", "zz_", "--quiet"], ["'zz_'", "--unfreeze"]),
    # --- typo'd checkpoint names suggest checkpoints
    ("finetune: checkpoint lenet5-mnsit", lambda tmp, run: ["finetune", "lenet5-mnsit", _npz(tmp / "d.npz", [0, 1, 2] * 10)], ["checkpoint 'lenet5-mnist'"]),
    ("embed: checkpoint lenet5-mnsit", lambda tmp, run: ["embed", "lenet5-mnsit", _npz(tmp / "d.npz", [0, 1, 2] * 10), "-o", tmp / "r"], ["checkpoint 'lenet5-mnist'"]),
    ("export: checkpoint lenet5-mnsit", lambda tmp, run: ["export", "lenet5-mnsit", "-o", tmp / "r"], ["'lenet5-mnist'"]),
]  # fmt: skip


@pytest.mark.parametrize("make,fragments", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_input_gives_one_line_error(tmp_path, finished_run, make, fragments):
    args = make(tmp_path, finished_run)
    args, env = args if isinstance(args, tuple) else (args, None)
    result = _invoke(args, env)
    out = result.output
    assert result.exit_code != 0, out
    assert isinstance(result.exception, SystemExit), f"{result.exception!r}\n{out}"
    assert "Traceback" not in out
    errors = [line for line in out.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, out
    for fragment in fragments:
        assert fragment.format(tmp=tmp_path) in errors[0], errors[0]
    assert not (tmp_path / "r").exists(), "a refused start left a run directory"


def test_corpus_size():
    """The number of hostile inputs the corpus covers (quoted in the README)."""
    assert len(CASES) == len({c[0] for c in CASES}) >= 56


# ------------------------------------------------------- behaviour, not errors
def test_forced_resume_keeps_the_recorded_config(tmp_path, finished_run):
    run = _copy_run(tmp_path, finished_run)
    for name in ("model.keras", "metrics.json"):  # as if killed after epoch 2 was committed
        os.remove(run / name)
    result = _invoke(["train", "--resume", run, "--epochs", 4, "--force", "--quiet"])
    assert result.exit_code == 0, result.output
    state = json.loads((run / "state.json").read_text())
    lr = state["history"]["lr"]
    # Cosine over 4 epochs from 0.002: the 4th epoch's rate is 0.002 * (1 + cos(3pi/4)) / 2.
    assert lr[2] == pytest.approx(0.001, rel=1e-3)
    assert lr[3] == pytest.approx(0.002 * (1 + np.cos(3 * np.pi / 4)) / 2, rel=1e-3)


def test_flags_given_to_a_resume_are_the_only_changes(tmp_path, finished_run):
    from cli.train_cmds import train_config

    run = _copy_run(tmp_path, finished_run)
    config = train_config(None, {"epochs": 5, "patience": 3}, True, str(run))
    recorded = json.loads((run / "run.json").read_text())["config"]
    changed = {k for k, v in config.to_dict().items() if recorded.get(k) != v}
    assert changed == {"epochs", "patience"}
    assert config.learning_rate == 0.002 and config.schedule == "cosine"


def test_failed_start_leaves_no_run_behind(tmp_path, data_npz):
    run = tmp_path / "r"
    args = ["train", "mlp", "--data", data_npz, "--run-dir", run, "--epochs", 1, "--quiet",
            "--input-shape", "12,12,3"]  # fmt: skip
    first = _invoke(args)
    assert first.exit_code != 0 and isinstance(first.exception, SystemExit)
    assert (
        first.output.startswith("Error: Input 0") and "incompatible with the layer" in first.output
    )
    assert not run.exists()
    os.makedirs(run)  # a folder the user made is kept, and accepted by a plain re-run
    assert _invoke(args).exit_code != 0 and run.is_dir() and not os.listdir(run)
    fixed = _invoke([a for a in args if a not in ("--input-shape", "12,12,3")])
    assert fixed.exit_code == 0, fixed.output


def test_ctrl_c_says_how_to_resume(tmp_path, data_npz, monkeypatch):
    from zoo.training import steps

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt  # what Ctrl-C raises inside fit

    monkeypatch.setattr(steps, "fit_run", interrupted)
    run = tmp_path / "r"
    result = _invoke(["train", "mlp", "--data", data_npz, "--run-dir", run, "--quiet"])
    assert result.exit_code == 130
    assert f"zoo train --resume {run}" in result.output and "Aborted!" not in result.output
    assert (run / "run.json").is_file()


@pytest.mark.parametrize("how", ["--debug", "ZOO_DEBUG"])
def test_debug_shows_the_traceback(tmp_path, how):
    bad = _model_file(tmp_path, _flip_crc)
    args = ["predict", bad, _image(tmp_path)]
    result = _invoke(["--debug", *args]) if how == "--debug" else _invoke(args, {"ZOO_DEBUG": "1"})
    assert result.exit_code != 0
    assert not isinstance(result.exception, SystemExit)
    assert "bad.keras" in str(result.exception)


def test_api_errors_are_zoo_errors_naming_the_file(tmp_path):
    import zoo
    from zoo.errors import FileFormatError, ModelFileError, ZooError
    from zoo.jsonio import read_json
    from zoo.saving import UnsafeModelError
    from zoo.training.runs import ResumeError

    assert all(issubclass(c, ZooError) for c in (UnsafeModelError, ResumeError, ModelFileError))
    with pytest.raises(ModelFileError, match="bad.keras"):
        zoo.load_model(_model_file(tmp_path, _flip_crc))
    big = _write(tmp_path / "big.json", "[" + "0," * 100 + "0]")
    with pytest.raises(FileFormatError, match="big.json.*more than the 64 bytes"):
        read_json(big, max_bytes=64)
    assert read_json(big, list)[0] == 0


def test_predict_reports_bad_images_and_predicts_the_good_ones(tmp_path, finished_run):
    good = _image(tmp_path)
    truncated, text = _bad_images(tmp_path)
    absent = tmp_path / "absent.png"
    result = _invoke(["predict", finished_run, truncated, good, text, absent])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split(":")[0] for line in lines if not line.startswith("Skipped")] == [str(good)]
    skipped = [line for line in lines if line.startswith("Skipped ")]
    assert len(skipped) == 3, lines
    assert all(str(p) in line for p, line in zip([truncated, text, absent], skipped, strict=True))


def test_archive_caps_and_their_override(tmp_path, monkeypatch):
    from zoo.errors import FileFormatError
    from zoo.saving import check_zip_members

    bomb = tmp_path / "x.npz"
    bomb.write_bytes(_npz_bomb(tmp_path))
    with pytest.raises(FileFormatError, match="x_train.npy.*times"):
        check_zip_members(bomb)
    check_zip_members(bomb, max_member_bytes=64 << 20)  # a genuine file: the cap raised
    with pytest.raises(FileFormatError, match="x_train.npy.*over the cap of 1,000,000"):
        check_zip_members(bomb, max_member_bytes=1_000_000)
    monkeypatch.setenv("ZOO_MAX_MEMBER_BYTES", str(64 << 20))
    check_zip_members(bomb)
    monkeypatch.delenv("ZOO_MAX_MEMBER_BYTES")
    many = tmp_path / "many.npz"  # 40 members of 1 MiB zeros: each small, together 1000x
    with zipfile.ZipFile(many, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(40):
            zf.writestr(f"a{i}.npy", bytes(1 << 20))
    with pytest.raises(FileFormatError, match="all members together"):
        check_zip_members(many)


def test_model_file_bomb_is_refused_before_it_inflates(tmp_path):
    """The 1.5 MB / 1.5 GB-inflating .keras: refused by the zip directory, RSS well under 500 MB."""
    import subprocess
    import sys

    child = (
        "import resource, sys, time\n"
        "t = time.perf_counter()\n"
        "import zoo\n"
        "try:\n"
        "    zoo.load_model(sys.argv[1])\n"
        "except ValueError as error:\n"
        "    print('refused', error)\n"
        "rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024\n"
        "try:  # ru_maxrss keeps the forking parent's peak across exec; VmHWM is this image's\n"
        "    status = open('/proc/self/status').read().split('VmHWM:')[1]\n"
        "    rss = int(status.split()[0]) // 1024\n"
        "except (OSError, IndexError):\n"
        "    pass\n"
        "print(f'rss_mb={rss} seconds={time.perf_counter() - t:.3f}')\n"
    )
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    out = subprocess.run(
        [sys.executable, "-c", child, str(_bomb(tmp_path))],
        check=False, capture_output=True, text=True, env=env, timeout=120,
    ).stdout  # fmt: skip
    assert "refused" in out and "bomb.keras" in out and "'config.json'" in out, out
    rss = int(out.split("rss_mb=")[1].split()[0])
    print(out.splitlines()[-1])  # recorded by `pytest -s`
    assert rss < 500, out


# ------------------------------------------------ file names that are not UTF-8
def _bytes_folder(tmp):
    """Two class folders of 12x12 PNGs; in ``a`` one readable image named b'caf\\xe9.png',
    in ``b\\xfe`` (a non-UTF-8 class name) a text file named b'bad\\xff.png'."""
    from PIL import Image

    root = os.fsencode(tmp / "digits")
    for cls in (b"a", b"b\xfe"):
        try:
            os.makedirs(os.path.join(root, cls))
        except (OSError, UnicodeError):
            pytest.skip("this file system refuses file names that are not UTF-8")
        for i in range(6):
            image = Image.fromarray(np.full((12, 12), 40 * i + (cls == b"a"), np.uint8))
            image.save(os.fsdecode(os.path.join(root, cls, b"%d.png" % i)))
    with open(os.path.join(root, b"a", b"caf\xe9.png"), "wb") as fh:
        fh.write((tmp / "digits" / "a" / "0.png").read_bytes())
    with open(os.path.join(root, b"b\xfe", b"bad\xff.png"), "wb") as fh:
        fh.write(b"not an image\n")
    return tmp / "digits"


def test_non_utf8_file_names_are_read_or_reported_by_name(tmp_path):
    folder = _bytes_folder(tmp_path)
    run = tmp_path / "r"
    result = _invoke(["train", "mlp", "--data", folder, "--epochs", 1, "--run-dir", run,
                      "--quiet", "--model-arg", "hidden_units=[8]"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "b\\xfe/bad\\xff.png: not an image" in result.output  # named, bytes escaped
    listing = (run / "skipped_files.txt").read_text(encoding="utf-8")
    assert "b\\xfe/bad\\xff.png\tnot an image" in listing
    record = json.loads((run / "run.json").read_text(encoding="utf-8"))
    assert record["data"]["class_names"] == ["a", "b\\xfe"]

    from zoo.data import load

    bundle = load(str(folder), validation_split=0)  # 7 + 6 images, b'caf\xe9.png' among them
    assert len(bundle.train[0]) == 13 and len(bundle.screen_report.skipped) == 1


# ------------------------------------------------- reproducible by default
def test_runs_are_seeded_by_default_and_seed_random_is_recorded(tmp_path, data_npz):
    from zoo.constants import DEFAULT_SEED

    def run(name, *extra):
        args = ["train", "mlp", "--data", data_npz, "--epochs", 1, "--batch-size", 16, "--quiet",
                "--model-arg", "hidden_units=[8]", "--run-dir", tmp_path / name, *extra]  # fmt: skip
        assert _invoke(args).exit_code == 0
        record = json.loads((tmp_path / name / "run.json").read_text())
        state = json.loads((tmp_path / name / "state.json").read_text())
        return record["config"]["seed"], state["history"]["loss"]

    (seed1, loss1), (seed2, loss2) = run("one"), run("two")
    assert seed1 == seed2 == DEFAULT_SEED and loss1 == loss2  # no --seed: the same run twice
    seed3, _ = run("three", "--seed", "random")
    assert isinstance(seed3, int) and 0 <= seed3 < 2**32  # drawn, and recorded to rerun it


# --------------------------------------------------------------- Ctrl-C
def _interrupt(args, ready, cwd):
    """Starts ``zoo ARGS`` and returns once ``ready`` files exist (the run is under way)."""
    import glob
    import subprocess
    import sys
    import time

    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # the CLI's own setting and filter, as for a user
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", *map(str, args)], cwd=cwd, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 240
    while not glob.glob(str(ready)) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    return proc


def _ctrl_c(proc) -> str:
    import signal
    import subprocess

    for _ in range(3):  # a second Ctrl-C only if the first was swallowed (a gc callback's)
        if proc.poll() is not None:
            break
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            continue
    out = proc.communicate(timeout=60)[0]
    return out.decode("utf-8", "replace")


def test_ctrl_c_in_train_finetune_and_tune_says_how_to_resume(tmp_path, data_npz):
    """A real SIGINT mid-run: exit 130, the run kept, and the exact command that resumes it."""
    small = ["--model-arg", "hidden_units=[8]"]
    procs = {
        "train": _interrupt(["train", "mlp", "--data", data_npz, "--epochs", 10_000, "--quiet",
                             "--run-dir", tmp_path / "t", *small], tmp_path / "t" / "state.json",
                            tmp_path),
        "finetune": _interrupt(["finetune", "mlp", data_npz, "--freeze-epochs", 10_000,
                                "--patience", 0, "--run-dir", tmp_path / "f", "--quiet"],
                               tmp_path / "f" / "*" / "state.json", tmp_path),
        "tune": _interrupt(["tune", "mlp", "--data", data_npz, "--space", "dropout=0.1,0.2",
                            "--max-epochs", 10_000, "-d", tmp_path / "s", "--in-process"],
                           tmp_path / "s" / "search" / "trial_*" / "zoo_trial.json", tmp_path),
    }  # fmt: skip
    expected = {
        "train": f"zoo train --resume {tmp_path / 't'}",
        "finetune": f"zoo finetune mlp {data_npz} --freeze-epochs 10000 --patience 0 --quiet "
        "--resume "
        f"{tmp_path / 'f'}",
        "tune": f"zoo tune mlp --data {data_npz} --space dropout=0.1,0.2 --max-epochs 10000 "
        f"--in-process --resume {tmp_path / 's'}",
    }
    for name, proc in procs.items():
        out = _ctrl_c(proc)
        assert proc.returncode == 130, f"{name}: {out}"
        errors = [line for line in out.splitlines() if line.startswith("Error: ")]
        assert len(errors) == 1 and expected[name] in errors[0], f"{name}: {out}"
        assert "Aborted!" not in out and "Traceback" not in out, f"{name}: {out}"
