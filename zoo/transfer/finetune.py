"""The two-phase fine-tune recipe (head, then top blocks) and the linear probe."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from zoo.training.preprocess import Preprocessing
from zoo.transfer.backbone import Backbone, attach_head, load_backbone
from zoo.transfer.blocks import check_unfreeze, freeze, unfreeze_top
from zoo.transfer.rates import (
    apply_bn_policy,
    checked_bn,
    checked_factor,
    discriminative_groups,
    optimizer_policy,
)


@dataclasses.dataclass
class FineTuneResult:
    """What `fine_tune` returns; the attributes of `TrainResult` plus the phases.

    Attributes:
        model: the fine-tuned model.
        history: both phases, epochs numbered continuously, with a
            ``"phase"`` column (1 or 2).
        metrics: test metrics of the final model (when there is a test split).
        run_dir: the run directory (``<run_dir>/phase1-head`` and
            ``<run_dir>/phase2-finetune`` hold the phases' runs), or None.
        class_names: class names in label order.
        preprocessing: the `Preprocessing` the model expects.
        backbone: the `Backbone` it started from (name, kind, weights).
        phase1: the head phase's `TrainResult`.
        phase2: the fine-tuning phase's `TrainResult`, or None.
        unfrozen: layers trained in phase 2.
        published: the checkpoint folder when ``save_as`` was given.
        rate_groups: phase 2's discriminative groups ``[(block, [layers],
            rate factor)]`` (the head's factor is 1); empty when off.
        splits: the carved split of a flat class folder (file lists per
            split, seed, fractions), else None.
    """

    model: Any
    history: dict
    metrics: dict
    run_dir: str | None
    class_names: tuple
    preprocessing: Preprocessing
    backbone: Backbone
    phase1: Any
    phase2: Any = None
    unfrozen: list = dataclasses.field(default_factory=list)
    published: str | None = None
    rate_groups: list = dataclasses.field(default_factory=list)
    splits: dict | None = None

    @property
    def status(self) -> str:
        return (self.phase2 or self.phase1).status


PHASE_DIRS = ("phase1-head", "phase2-finetune")


def fine_tune(
    backbone,
    data,
    *,
    weights="default",
    freeze_epochs: int = 5,
    unfreeze=1,
    fine_tune_lr: float | None = None,
    discriminative: bool | float = False,
    bn: str = "frozen",
    test_split: float = 0.1,
    config=None,
    run_dir: str | os.PathLike | None = None,
    resume: bool = False,
    force: bool = False,
    save_as: str | None = None,
    overwrite: bool = False,
    linear_probe: bool = False,
    head_dropout: float = 0.2,
    model_kwargs: dict | None = None,
    preprocessing: Preprocessing | None = None,
    callbacks=(),
    verbose: int | str = "auto",
    root=None,
) -> FineTuneResult:
    """Fine-tunes a backbone on a new classification data set, in two phases.

    1. The head is replaced by a classifier for the data's classes (class
       names from the folder, index order kept).
    2. Phase 1: the backbone is frozen (BatchNorm in inference mode, its
       moving statistics untouched); the head trains ``freeze_epochs``
       epochs at ``config.learning_rate``.
    3. Phase 2: the top ``unfreeze`` blocks are unfrozen (BatchNorm still
       frozen) and training continues ``config.epochs`` epochs at
       ``fine_tune_lr``. Skipped when ``unfreeze`` is 0 or ``linear_probe``.
       With ``discriminative``, the head trains at ``fine_tune_lr`` and the
       unfrozen blocks at rates spaced geometrically down to
       ``fine_tune_lr / factor`` for the deepest (see `zoo.transfer.rates`).

    Biases and normalization scales/offsets get no weight decay in either
    phase. A flat folder of class subfolders gets a seeded, stratified test
    split carved (``test_split``) besides validation, saved as
    ``<run_dir>/splits.json``, so the test metrics always exist.

    Both phases run through `zoo.train` (one training path): augmentation,
    early stopping, checkpoints, resume and the doctor come from the config.

    Args:
        backbone: see `load_backbone`.
        data: folder, ``.npz``, ``"tfds:NAME"``, ``"mnist-sample"`` or a
            ``DataBundle``. Grayscale data on an RGB backbone is repeated to
            3 channels; smaller images are padded to the backbone's minimum.
        weights: see `load_backbone` (default: the backbone's pretrained
            weights; random for a bare zoo architecture).
        freeze_epochs: epochs of phase 1. Defaults to 5.
        unfreeze: top blocks to unfreeze in phase 2 (int), ``"all"``, or a
            layer-name prefix (see `unfreeze_top`). Defaults to 1.
        fine_tune_lr: phase-2 learning rate (the head's, with
            ``discriminative``); default ``learning_rate / 10``, or
            ``learning_rate`` itself with ``discriminative`` (fastai's
            ``slice(lr / 100, lr)`` with the head's ``lr``: the blocks'
            rates already fall below it).
        discriminative: per-block learning rates in phase 2: False (one
            rate, default), True (factor 100, fastai's ``slice(lr/100,
            lr)``) or a factor > 1: the deepest unfrozen block trains at
            ``fine_tune_lr / factor``.
        bn: BatchNorm policy: ``"frozen"`` (inference mode, moving
            statistics untouched; default) or ``"train"`` (every backbone
            BatchNorm layer trains and updates its statistics, fastai's
            ``train_bn``).
        test_split: fraction held out as test when ``data`` is a flat class
            folder; 0 carves none (only validation). Defaults to 0.1.
        config: ``TrainConfig`` (or dict/path); ``epochs`` are phase 2's.
        run_dir: run directory (one sub-folder per phase).
        resume: continue a killed fine-tune in ``run_dir``.
        force: resume even if something changed.
        save_as: publish the final model to ``saved_models/<save_as>``.
        overwrite: replace an existing run directory / checkpoint.
        linear_probe: only phase 1, for ``config.epochs`` epochs: a linear
            classifier (``head_dropout`` 0) on frozen features.
        head_dropout: dropout before the new classifier. Defaults to 0.2.
        model_kwargs: backbone builder arguments.
        preprocessing: overrides the backbone's preprocessing.
        callbacks: extra Keras callbacks for both phases.
        verbose: Keras verbosity.
        root: saved-models folder.

    Returns:
        A `FineTuneResult`.

    Raises:
        ValueError: bad arguments, data, backbone or weights.
    """
    from zoo.training.fit import as_config

    config = as_config(config)
    policy = {"factor": checked_factor(discriminative), "bn": checked_bn(bn)}
    freeze_epochs, fine_tune_lr, head_dropout, unfreeze = _checked_schedule(
        config, freeze_epochs, fine_tune_lr, unfreeze, head_dropout, linear_probe, policy["factor"]
    )
    bundle, splits = _load(data, config, test_split, run_dir, resume=resume, force=force)
    bb = load_backbone(
        backbone, bundle.input_shape, weights=weights, model_kwargs=model_kwargs,
        preprocessing=preprocessing, root=root,
    )  # fmt: skip
    model = _transfer_model(bb, bundle.num_classes, config, head_dropout, bn)
    common = {"force": force, "preprocessing": bb.preprocessing, "callbacks": callbacks, "verbose": verbose,
                  "overwrite": overwrite}  # fmt: skip
    phase1, phase2, unfrozen, groups = _run_phases(
        model, bundle, config, list(bb.layer_names), run_dir, resume=resume, common=common,
        freeze_epochs=freeze_epochs, unfreeze=unfreeze, fine_tune_lr=fine_tune_lr, policy=policy,
    )  # fmt: skip
    final = phase2 or phase1
    result = FineTuneResult(
        model=final.model, history=_join_histories(phase1, phase2), metrics=dict(final.metrics),
        run_dir=None if run_dir is None else os.path.abspath(os.fspath(run_dir)),
        class_names=tuple(bundle.class_names), preprocessing=bb.preprocessing, backbone=bb,
        phase1=phase1, phase2=phase2, unfrozen=unfrozen, rate_groups=groups, splits=splits,
    )  # fmt: skip
    if save_as and final.status != "diverged":
        settings = {"freeze_epochs": freeze_epochs, "unfreeze": unfreeze, "fine_tune_lr": fine_tune_lr,
                    "linear_probe": linear_probe, "head_dropout": head_dropout,
                    "discriminative": policy["factor"], "bn": bn,
                    "test_split": test_split if splits else None}  # fmt: skip
        published = _publish(
            result, final, save_as, overwrite=overwrite, root=root, settings=settings
        )
        result.published = str(published)
    return result


def _transfer_model(bb: Backbone, num_classes: int, config, head_dropout: float, bn="frozen"):
    """The backbone with a new classifier head, the backbone's layers frozen.

    With ``bn="train"`` the backbone's BatchNorm layers stay trainable.

    The head outputs logits when the config's loss wants them (``from_logits``
    or a hinge loss), else softmax probabilities.
    """
    logits = config.from_logits or config.loss in ("svm_hinge", "hinge_cs")
    model = attach_head(
        bb.model,
        num_classes,
        dropout=head_dropout,
        classifier_activation=None if logits else "softmax",
    )
    freeze(model, list(bb.layer_names))
    apply_bn_policy(model, list(bb.layer_names), bn)
    return model


def _checked_schedule(
    config, freeze_epochs, fine_tune_lr, unfreeze, head_dropout, linear_probe, factor=None
):
    """Validates the phases' settings; returns ``(freeze_epochs, fine_tune_lr, head_dropout,
    unfreeze)`` with the defaults and the linear-probe overrides applied.

    Raises:
        ValueError: a negative ``freeze_epochs``, ``fine_tune_lr <= 0``, or nothing to train.
    """
    if isinstance(freeze_epochs, bool) or not isinstance(freeze_epochs, int) or freeze_epochs < 0:
        raise ValueError(
            f"freeze_epochs must be a non-negative integer; received {freeze_epochs!r}."
        )
    if fine_tune_lr is None:  # discriminative: the slice's top, the head, keeps its rate
        fine_tune_lr = config.learning_rate if factor else config.learning_rate / 10
    if not fine_tune_lr > 0:
        raise ValueError(f"fine_tune_lr must be > 0; received {fine_tune_lr!r}.")
    if linear_probe:
        head_dropout, unfreeze = 0.0, 0
        freeze_epochs = config.epochs
    if freeze_epochs < 1 and unfreeze in (0, "0"):
        raise ValueError("Nothing to train: freeze_epochs=0 and unfreeze=0.")
    return freeze_epochs, fine_tune_lr, head_dropout, unfreeze


def _run_phases(
    model, bundle, config, names, run_dir, *, resume, common, freeze_epochs, unfreeze,
    fine_tune_lr, policy,
):  # fmt: skip
    """Phase 1 (head on the frozen backbone), then phase 2 (top blocks unfrozen).

    Phase 2 is skipped when ``unfreeze`` is 0 or phase 1 diverged; the test split
    is evaluated by the last phase that runs. Each phase's optimizer excludes
    biases and normalization parameters from weight decay; phase 2's gets the
    discriminative rate groups when ``policy["factor"]`` is set.

    Returns:
        ``(phase1, phase2, unfrozen, groups)``: the phases' `TrainResult` (or
        None), the layers phase 2 trained and its rate groups.
    """
    from zoo.training.fit import train
    from zoo.training.optimizers import wrapping_optimizers

    dirs = [None if run_dir is None else os.path.join(os.fspath(run_dir), d) for d in PHASE_DIRS]
    do_phase2 = unfreeze not in (0, "0")
    if do_phase2:
        check_unfreeze(model, names, unfreeze)  # a bad --unfreeze fails before phase 1 trains
    phase1 = None
    if freeze_epochs >= 1:
        cfg1 = config.replace(epochs=freeze_epochs, warmup_epochs=0)
        with wrapping_optimizers(optimizer_policy()):
            phase1 = train(
                model, bundle, cfg1, run_dir=dirs[0], resume=_resumable(resume, dirs[0]),
                evaluate_test=not do_phase2, **common,
            )  # fmt: skip
        model = phase1.model
        if phase1.status == "diverged":
            do_phase2 = False
    phase2, unfrozen, groups = None, [], []
    if do_phase2:
        unfrozen = unfreeze_top(model, names, unfreeze)
        apply_bn_policy(model, names, policy["bn"])
        if policy["factor"]:
            groups = discriminative_groups(model, names, policy["factor"])
        cfg2 = config.replace(learning_rate=fine_tune_lr)
        with wrapping_optimizers(optimizer_policy(groups)):
            phase2 = train(
                model, bundle, cfg2, run_dir=dirs[1], resume=_resumable(resume, dirs[1]), **common
            )
    return phase1, phase2, unfrozen, groups


def _load(data, config, test_split, run_dir, *, resume: bool, force: bool):
    """The data bundle, a flat class folder carved into train/val/test.

    Returns:
        ``(bundle, splits)``: ``splits`` is the carve (saved as
        ``<run_dir>/splits.json``), or None for data that has its own splits.

    Raises:
        ValueError: a bad ``test_split``, or (on resume, unless ``force``) a
            carve that differs from the one the run saved.
    """
    from zoo.training.fit import load_data
    from zoo.training.runs import read_json, write_json
    from zoo.transfer.carving import SPLITS_JSON, carve_folder, is_flat_folder

    if isinstance(test_split, bool) or not isinstance(test_split, (int, float)):
        raise ValueError(f"test_split must be a fraction in [0, 0.5); received {test_split!r}.")
    if not (test_split and is_flat_folder(data)):
        return load_data(data, config), None
    bundle, splits = carve_folder(data, config, test_split=float(test_split))
    if run_dir is None:
        return bundle, splits
    path = os.path.join(os.fspath(run_dir), SPLITS_JSON)
    if resume and os.path.exists(path) and not force and read_json(path) != splits:
        raise ValueError(
            f"{path}: the folder's carve (train/val/test files) differs from the one this run "
            f"was trained on; resume with force=True to continue anyway."
        )
    os.makedirs(os.fspath(run_dir), exist_ok=True)
    write_json(path, splits)
    return bundle, splits


def linear_probe(backbone, data, **kwargs) -> FineTuneResult:
    """A linear classifier on frozen features: ``fine_tune(..., linear_probe=True)``."""
    return fine_tune(backbone, data, linear_probe=True, **kwargs)


def _resumable(resume: bool, run_dir) -> bool:
    from zoo.training.runs import RunDirectory

    return bool(resume and run_dir is not None and RunDirectory(run_dir).exists)


def _join_histories(phase1, phase2) -> dict:
    out: dict[str, list] = {"epoch": [], "phase": []}
    offset = 0
    for number, phase in ((1, phase1), (2, phase2)):
        if phase is None:
            continue
        hist = phase.history or {}
        n = len(hist.get("epoch", hist.get("loss", [])))
        for key, values in hist.items():
            if key == "epoch":
                continue
            column = out.setdefault(key, [None] * len(out["epoch"]))
            column.extend(list(values)[:n] + [None] * (n - len(values)))
        out["epoch"].extend(range(offset + 1, offset + n + 1))
        out["phase"].extend([number] * n)
        for column in out.values():
            column.extend([None] * (len(out["epoch"]) - len(column)))
        offset += n
    return out


def _publish(result: FineTuneResult, final, name: str, *, overwrite: bool, root, settings: dict):
    from zoo.training.fit import publish_result

    bb = result.backbone
    extra = {
        "architecture": None,
        "backbone": {"name": bb.name, "kind": bb.kind, "weights": bb.weights},
        "transfer": dict(settings),
        "metrics": result.metrics,
        "epochs": len(result.history.get("epoch", [])),
        "run_dir": result.run_dir,
        # each phase's sessions, its epochs counted within the phase
        "sessions": [
            {**session, "phase": number}
            for number, phase in ((1, result.phase1), (2, result.phase2))
            if phase is not None
            for session in phase.sessions
        ],
    }
    return publish_result(final, name, overwrite=overwrite, root=root, extra=extra)
