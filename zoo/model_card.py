"""A checkpoint's model card: a readable ``README.md`` generated from its manifest.

The card is *derived*: every fact in it comes from ``manifest.json``
(Mitchell et al., "Model Cards for Model Reporting", FAT* 2019, for the
sections), so it is not listed among the manifest's hashed ``files`` and the
manifest's own hash rules are unchanged. `model_card(manifest)` regenerates it
exactly; ``zoo.publishing.publish`` writes it beside every checkpoint it
publishes. A card that was edited by hand is therefore not authoritative: the
manifest (hashed) is.

Layering: imports only `zoo.registry` (no Keras), for the paper of an
architecture.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["CARD_FILE", "model_card"]

CARD_FILE = "README.md"

_KERAS_PAPERS = {"ResNet": "He et al. 2016", "VGG": "Simonyan & Zisserman 2015",
                 "MobileNetV2": "Sandler et al. 2018", "EfficientNet": "Tan & Le 2019",
                 "Inception": "Szegedy et al. 2016", "DenseNet": "Huang et al. 2017"}  # fmt: skip


def _paper(architecture) -> str | None:
    from zoo import registry

    if not architecture:
        return None
    try:
        spec = registry.get_spec(architecture)
    except Exception:  # noqa: BLE001 - an architecture this version does not know
        return next((p for k, p in _KERAS_PAPERS.items() if architecture.startswith(k)), None)
    return f"{spec.description} ({spec.paper})"


def _architecture(m: Mapping) -> list[str]:
    arch, backbone = m.get("architecture"), m.get("backbone") or {}
    lines = []
    if arch:
        lines.append(f"- Architecture: `{arch}` — {_paper(arch) or 'see the zoo registry'}")
    elif backbone:
        base = backbone.get("architecture") or backbone.get("name")
        paper = _paper(base)
        lines.append(f"- Architecture: the backbone `{backbone.get('name')}` "
                     f"({backbone.get('kind')}) with a new classifier head"
                     + (f" — {paper}" if paper else ""))  # fmt: skip
    lines.append(f"- Model: `{m.get('model_name')}`, {m.get('params', '?'):,} parameters, "
                 f"input {tuple(m.get('input_shape') or ())}")  # fmt: skip
    kwargs = m.get("model_kwargs")
    if kwargs:
        lines.append(
            "- Builder arguments: " + ", ".join(f"`{k}={v!r}`" for k, v in sorted(kwargs.items()))
        )
    return lines


def _weights(m: Mapping) -> list[str]:
    backbone = m.get("backbone")
    if not backbone:
        return ["- Trained from random initialization (no pretrained weights)."]
    return [(f"- Fine-tuned from `{backbone.get('name')}` ({backbone.get('kind')}; weights: "
            f"{backbone.get('weights') or 'random'}).")]  # fmt: skip


def _data(m: Mapping) -> list[str]:
    lines = [f"- Data: {m.get('data', 'not recorded')}"]
    splits = m.get("data_splits") or {}
    if splits:
        order = sorted(splits, key=lambda k: (["train", "val", "test"] + [k]).index(k))
        lines.append("- Splits: " + ", ".join(f"{k} {splits[k]:,} images" for k in order)
                     + f" (split seed {m.get('split_seed', '?')})")  # fmt: skip
    names = m.get("class_names") or []
    shown = ", ".join(map(str, names[:20])) + (" …" if len(names) > 20 else "")
    lines.append(f"- Classes ({len(names)}, in output order): {shown}")
    prep = m.get("preprocessing") or {}
    if prep:
        lines.append("- Preprocessing: " + ", ".join(f"{k}={v}" for k, v in sorted(prep.items())
                                                     if v is not None))  # fmt: skip
    return lines


def _recipe(m: Mapping) -> list[str]:
    cfg = m.get("train_config") or {}
    keys = ("epochs", "batch_size", "optimizer", "learning_rate", "schedule", "weight_decay",
            "augment", "early_stopping", "seed")  # fmt: skip
    lines = [f"- Epochs trained: {m.get('epochs', '?')}"
             + (f" ({m['train_seconds']} s)" if m.get("train_seconds") else "")]  # fmt: skip
    if cfg:
        lines.append("- Config: " + ", ".join(f"{k}={cfg[k]}" for k in keys if k in cfg))
    transfer = m.get("transfer")
    if transfer:
        lines.append("- Fine-tune: " + ", ".join(f"{k}={v}" for k, v in sorted(transfer.items())
                                                 if v is not None))  # fmt: skip
    if m.get("selected"):
        lines.append(f"- Model kept: {m['selected']} (best validation accuracy seen)")
    return lines


def _metrics(m: Mapping) -> list[str]:
    metrics = m.get("metrics") or {}
    n = (m.get("data_splits") or {}).get("test")
    lines = [f"- {k}: {v:.4f}" + (f" (test split, {n:,} images)" if n and
             k.startswith("test_") else "") for k, v in sorted(metrics.items())
             if isinstance(v, (int, float))]  # fmt: skip
    probe = m.get("probe")
    if probe:
        lines.append("- Linear probe on the same features (logistic regression, C "
                     f"{probe.get('C')}): " + ", ".join(f"{k} {v:.4f}" for k, v in sorted(probe.items())
                     if k.endswith("_accuracy") and isinstance(v, (int, float))))  # fmt: skip
    own = m.get("backbone_metrics") or {}
    if "test_accuracy" in own:
        lines.append(f"- The backbone as it was (its own classifier, same test split): "
                     f"test_accuracy {own['test_accuracy']:.4f}")  # fmt: skip
    return lines or ["- No test metrics were recorded (the data had no test split)."]


_FLAGS = (("freeze_epochs", "--freeze-epochs"), ("unfreeze", "--unfreeze"),
          ("head_lr", "--head-lr"), ("fine_tune_lr", "--fine-tune-lr"),
          ("factor", "--discriminative"), ("bn", "--bn"), ("schedule", "--unfreeze-schedule"),
          ("patience", "--patience"), ("test_split", "--test-split"))  # fmt: skip


def _finetune_command(m: Mapping) -> str:
    """The ``zoo finetune`` line a fine-tuned checkpoint's manifest describes."""
    t, cfg = m["transfer"], m.get("train_config") or {}
    data = str(m.get("data", "DATA"))
    if data.startswith("image folder "):
        data = data[len("image folder ") :].split(" (")[0]
    parts = ["zoo finetune", str(m["backbone"].get("name")), data]
    parts += [f"{flag} {t[key]}" for key, flag in _FLAGS if t.get(key) is not None]
    if t.get("probe") is False:
        parts.append("--head-init random")
    if t.get("keep_best") is False:
        parts.append("--keep-last")
    if t.get("class_weight"):
        parts.append("--class-weight balanced")
    parts += [f"--{k.replace('_', '-')} {cfg[k]}" for k in ("epochs", "batch_size", "learning_rate")
              if k in cfg]  # fmt: skip
    if cfg.get("seed") is not None:
        parts.append(f"--config <a TrainConfig with seed {cfg['seed']}>")
    return " ".join(parts)


def _reproduce(m: Mapping) -> list[str]:
    lines = ["```bash"]
    if m.get("command"):
        lines.append(m["command"])
    elif m.get("transfer") and m.get("backbone"):
        lines.append(_finetune_command(m))
    else:
        lines.append(f"# the run directory was {m.get('run_dir')}; its run.json holds the config")
    lines += [f"zoo evaluate {m.get('name')} --data <folder of class subfolders>", "```"]
    versions = m.get("versions") or {}
    if versions:
        lines.append("Versions: " + ", ".join(f"{k} {v}" for k, v in sorted(versions.items())))
    return lines


def model_card(manifest: Mapping) -> str:
    """The Markdown model card of a checkpoint, from its manifest alone.

    Args:
        manifest: the checkpoint's manifest (as `zoo.pretrained.read_manifest` returns it).

    Returns:
        The text of ``README.md``: architecture and paper, starting weights, data
        and splits, recipe, test metrics with their split, intended use and
        limitations, how to reproduce.
    """
    m = dict(manifest)
    name = m.get("name", "checkpoint")
    sections = [
        [
            f"# {name}",
            "",
            (
                "Model card generated from `manifest.json` by keras-zoo "
                "(derived, not hashed: the manifest and its sha256 are what loading checks)."
            ),
        ],
        ["## Model", *_architecture(m)],
        ["## Weights it started from", *_weights(m)],
        ["## Data and splits", *_data(m)],
        ["## Training recipe", *_recipe(m)],
        ["## Evaluation", *_metrics(m)],
        [
            "## Intended use and limitations",
            (
                f"- Classifies {tuple(m.get('input_shape') or ())} images into the classes above, "
                "preprocessed as recorded; for research and teaching."
            ),
            (
                "- Measured only on the split named above; accuracy on other sources (other scanners, "
                "cameras, contrast, image sizes) is unknown until measured (`zoo evaluate`)."
            ),
            (
                "- Not evaluated for fairness, robustness to adversarial inputs or calibration; "
                "not for decisions about people."
            ),
        ],
        ["## How to reproduce", *_reproduce(m)],
        [
            "## Files",
            *(f"- `{f}` sha256 `{h}`" for f, h in sorted((m.get("files") or {}).items())),
            f"- `manifest.json` manifest_sha256 `{m.get('manifest_sha256', '?')}`",
        ],
    ]
    return "\n\n".join("\n".join(s) for s in sections) + "\n"
