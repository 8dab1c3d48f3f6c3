"""The fine-tune recipe (linear probe, head, unfrozen blocks, best kept) and the linear probe."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from zoo.training.preprocess import Preprocessing
from zoo.transfer.backbone import Backbone, attach_head, load_backbone
from zoo.transfer.blocks import freeze
from zoo.transfer.carving import load_carved
from zoo.transfer.phases import Plan, run_phases
from zoo.transfer.probe import (
    backbone_score,
    check_channels,
    class_weights,
    guard_publish,
    train_labels,
)
from zoo.transfer.probe import fit_backbone_probe as fit_probe
from zoo.transfer.rates import apply_bn_policy, checked_bn, checked_factor


def previous_recipe(config) -> dict:
    """`fine_tune`'s arguments that reproduce what its defaults were before issue 15.

    A random head trained 5 epochs at the config's rate, the top block unfrozen at a
    tenth of it for ``config.epochs``, no early stopping, the last epoch kept (the
    probe is still computed and recorded, as a baseline).
    """
    return {"freeze_epochs": 5, "unfreeze": 1, "head_lr": config.learning_rate,
            "fine_tune_lr": config.learning_rate / 10, "discriminative": False,
            "head_init": None, "patience": None, "keep_best": False}  # fmt: skip


SCHEDULES = ("once", "gradual")
HEAD_INITS = ("probe", None)
FINETUNE_JSON = "finetune.json"


@dataclasses.dataclass
class FineTuneResult:
    """What `fine_tune` returns; the attributes of `TrainResult` plus the phases.

    Attributes:
        model: the fine-tuned model (the best on validation with ``keep_best``).
        history: every phase, epochs numbered continuously, with a
            ``"phase"`` column (1 or 2).
        metrics: test metrics of the returned model (when there is a test split).
        run_dir: the run directory (``<run_dir>/phase1-head`` and
            ``<run_dir>/phase2-finetune``, or ``phase2-stage<i>`` when gradual,
            hold the phases' runs; ``finetune.json`` the probe and the choice), or None.
        class_names: class names in label order.
        preprocessing: the `Preprocessing` the model expects.
        backbone: the `Backbone` it started from (name, kind, weights).
        phase1: the head phase's `TrainResult`, or None.
        phase2: the last fine-tuning stage's `TrainResult`, or None.
        unfrozen: layers trained in phase 2 (its last stage).
        published: the checkpoint folder when ``save_as`` was given.
        rate_groups: phase 2's discriminative groups ``[(block, [layers],
            rate factor)]`` (the head's factor is 1); empty when off.
        splits: the carved split of a flat class folder (file lists per
            split, seed, fractions), else None.
        probe: the linear probe's record (``C``, train/val/test accuracy), or None.
        selected: which model was kept: ``"probe"``, ``"phase1 epoch N"``,
            ``"phase2 epoch N"`` (``"phase2 stage S epoch N"``) or ``"last"``.
        val_accuracy: the returned model's validation accuracy (None without val).
        stages: every phase-2 stage's `TrainResult` (one unless gradual).
        class_weight: the class weights used, or None.
        backbone_metrics: the backbone's own classifier on the same test split,
            when it was trained on the data's classes (same names), else None.
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
    probe: dict | None = None
    selected: str = "last"
    val_accuracy: float | None = None
    stages: list = dataclasses.field(default_factory=list)
    class_weight: dict | None = None
    backbone_metrics: dict | None = None

    @property
    def status(self) -> str:
        return (self.phase2 or self.phase1).status


def fine_tune(
    backbone,
    data,
    *,
    weights="default",
    freeze_epochs: int = 2,
    unfreeze="all",
    head_lr: float | None = None,
    fine_tune_lr: float | None = None,
    discriminative: bool | float = False,
    bn: str = "frozen",
    schedule: str = "once",
    head_init: str | None = "probe",
    patience: int | None = 3,
    keep_best: bool = True,
    class_weight=None,
    channels: int | None = None,
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
    """Fine-tunes a backbone on a new classification data set; never worse than a linear probe.

    1. The head is replaced by a classifier for the data's classes (class
       names from the folder, index order kept).
    2. **Linear probe**: a logistic regression on the frozen backbone's
       features (``C`` chosen on validation; `zoo.transfer.probe`), recorded
       as the baseline; with ``head_init="probe"`` the new head starts from it.
    3. Phase 1: the backbone frozen (BatchNorm in inference mode), the head
       trains ``freeze_epochs`` epochs at ``head_lr``.
    4. Phase 2: the top ``unfreeze`` blocks unfrozen (BatchNorm still frozen
       unless ``bn="train"``), ``config.epochs`` epochs at ``fine_tune_lr``;
       with ``discriminative``, the blocks below the head at rates falling
       geometrically to ``fine_tune_lr / factor``; with ``schedule="gradual"``
       one block group more every stage (the epochs shared among the stages).
    5. Both phases stop early after ``patience`` epochs without a better
       validation loss; with ``keep_best`` the model returned is the one with
       the best validation accuracy seen, the probe-initialized head included.

    Publishing (``save_as``) refuses a model whose validation accuracy is
    below the probe's, unless ``force`` (then it warns). Biases and
    normalization parameters get no weight decay. A flat class folder gets a
    seeded, stratified test split carved (``test_split``), saved as
    ``<run_dir>/splits.json``. Phases run through `zoo.train` (one training
    path: augmentation, checkpoints, resume, the doctor).

    Args:
        backbone: see `load_backbone`.
        data: folder, ``.npz``, ``"tfds:NAME"``, ``"mnist-sample"`` or a
            ``DataBundle``. Smaller images are padded to the backbone's minimum.
        weights: see `load_backbone`.
        freeze_epochs: epochs of phase 1. Defaults to 2.
        unfreeze: top blocks to unfreeze in phase 2 (int), ``"all"`` (default),
            or a layer-name prefix (see `unfreeze_top`); 0: no phase 2.
        head_lr: phase 1's rate. Defaults to ``config.learning_rate``.
        fine_tune_lr: phase 2's rate (the head's, with ``discriminative``).
            Defaults to ``config.learning_rate``.
        discriminative: per-block rates in phase 2: False (one rate; default),
            True (factor 100, fastai's ``slice(lr/100, lr)``) or a factor > 1:
            the deepest unfrozen block at ``fine_tune_lr / factor``.
        bn: ``"frozen"`` (default) or ``"train"`` (fastai's ``train_bn``).
        schedule: ``"once"`` (default) or ``"gradual"`` (one block group more per stage).
        head_init: ``"probe"`` (default): the head starts as the linear probe;
            None: a random head.
        patience: early stopping patience of each phase (best epoch restored);
            None: the config's own early stopping. Defaults to 3.
        keep_best: return the best model on validation accuracy (probe
            included). Defaults to True.
        class_weight: None, ``"balanced"`` (``n / (k * n_c)``) or a dict.
        channels: the channel count to convert the data to when it differs
            from the backbone's (1 or 3); without it, a mismatch is an error.
        test_split: fraction carved as test from a flat class folder (0: none).
        config: ``TrainConfig`` (or dict/path); ``epochs`` are phase 2's.
        run_dir: run directory (one sub-folder per phase).
        resume: continue a killed fine-tune in ``run_dir``.
        force: resume even if something changed; publish even when worse than the probe.
        save_as: publish the returned model to ``saved_models/<save_as>``.
        overwrite: replace an existing run directory / checkpoint.
        linear_probe: only phase 1, for ``config.epochs`` epochs, no dropout.
        head_dropout: dropout before the new classifier. Defaults to 0.2.
        model_kwargs: backbone builder arguments.
        preprocessing: overrides the backbone's preprocessing.
        callbacks: extra Keras callbacks for every phase.
        verbose: Keras verbosity.
        root: saved-models folder.

    Returns:
        A `FineTuneResult`.

    Raises:
        ValueError: bad arguments, data, backbone, weights or channels; a
            result worse than the probe with ``save_as`` and not ``force``.
    """
    from zoo.training.fit import as_config

    config = as_config(config)
    policy = {"factor": checked_factor(discriminative), "bn": checked_bn(bn),
              "probe": _checked_choice("head_init", head_init, HEAD_INITS) == "probe"}  # fmt: skip
    plan, head_dropout = _checked_plan(config, factor=policy["factor"], freeze_epochs=freeze_epochs,
        unfreeze=unfreeze, head_lr=head_lr, fine_tune_lr=fine_tune_lr, schedule=schedule,
        patience=patience, keep_best=keep_best, linear_probe=linear_probe, head_dropout=head_dropout)  # fmt: skip
    bundle, splits = load_carved(data, config, test_split, run_dir, resume=resume, force=force)
    bb = load_backbone(backbone, bundle.input_shape, weights=weights, model_kwargs=model_kwargs,
                       preprocessing=preprocessing, root=root)  # fmt: skip
    check_channels(bb, bundle.input_shape[-1], channels, data)
    plan = dataclasses.replace(plan, class_weight=class_weights(
        train_labels(bundle), bundle.num_classes, class_weight))  # fmt: skip
    model = _transfer_model(bb, bundle.num_classes, config, head_dropout, bn)
    probe = fit_probe(bb, bundle, config, plan.class_weight, model if policy["probe"] else None)
    common = {"force": force, "preprocessing": bb.preprocessing, "callbacks": list(callbacks),
              "verbose": verbose, "overwrite": overwrite}  # fmt: skip
    phases, unfrozen, groups, selected = run_phases(model, bundle, config, list(bb.layer_names),
        run_dir, resume=resume, common=common, plan=plan, policy=policy)  # fmt: skip
    result = _result(bb, bundle, run_dir, phases, unfrozen, groups, splits, probe, selected)
    result.class_weight, result.backbone_metrics = plan.class_weight, backbone_score(bb, bundle, config, root)  # fmt: skip
    _record(result, plan, config)
    if save_as and result.status != "diverged":
        guard_publish(result, force)
        settings = {**dataclasses.asdict(plan), **policy, "bn": bn, "linear_probe": linear_probe,
                    "head_dropout": head_dropout, "test_split": test_split if splits else None}  # fmt: skip
        result.published = str(_publish(result, save_as, overwrite, root, settings))
    return result


def _checked_choice(name: str, value, choices):
    if value not in choices:
        raise ValueError(
            f"{name} must be one of {', '.join(map(str, choices))}; received {value!r}."
        )
    return value


def _checked_plan(config, *, factor, freeze_epochs, unfreeze, head_lr, fine_tune_lr, schedule,
                  patience, keep_best, linear_probe, head_dropout) -> tuple[Plan, float]:  # fmt: skip
    """Validates the phases' settings; returns the `Plan` and the head's dropout.

    Raises:
        ValueError: a negative ``freeze_epochs``, a rate <= 0, a bad schedule or
            patience, or nothing to train.
    """
    if isinstance(freeze_epochs, bool) or not isinstance(freeze_epochs, int) or freeze_epochs < 0:
        raise ValueError(
            f"freeze_epochs must be a non-negative integer; received {freeze_epochs!r}."
        )
    _checked_choice("schedule", schedule, SCHEDULES)
    if patience is not None and (isinstance(patience, bool) or not isinstance(patience, int)
                                 or patience < 1):  # fmt: skip
        raise ValueError(f"patience must be a positive integer or None; received {patience!r}.")
    head_lr = config.learning_rate if head_lr is None else head_lr
    fine_tune_lr = config.learning_rate if fine_tune_lr is None else fine_tune_lr
    for name, rate in (("head_lr", head_lr), ("fine_tune_lr", fine_tune_lr)):
        if not (isinstance(rate, (int, float)) and rate > 0):
            raise ValueError(f"{name} must be > 0; received {rate!r}.")
    if linear_probe:
        head_dropout, unfreeze = 0.0, 0
        freeze_epochs = config.epochs
    if freeze_epochs < 1 and unfreeze in (0, "0"):
        raise ValueError("Nothing to train: freeze_epochs=0 and unfreeze=0.")
    plan = Plan(freeze_epochs=freeze_epochs, head_lr=float(head_lr), unfreeze=unfreeze,
                fine_tune_lr=float(fine_tune_lr), schedule=schedule, patience=patience,
                keep_best=bool(keep_best))  # fmt: skip
    return plan, head_dropout


def _transfer_model(bb: Backbone, num_classes: int, config, head_dropout: float, bn="frozen"):
    """The backbone with a new classifier head, the backbone's layers frozen.

    With ``bn="train"`` the backbone's BatchNorm layers stay trainable. The head
    outputs logits when the config's loss wants them (``from_logits`` or a hinge
    loss), else softmax probabilities.
    """
    logits = config.from_logits or config.loss in ("svm_hinge", "hinge_cs")
    model = attach_head(
        bb.model, num_classes, dropout=head_dropout,
        classifier_activation=None if logits else "softmax",
    )  # fmt: skip
    freeze(model, list(bb.layer_names))
    apply_bn_policy(model, list(bb.layer_names), bn)
    return model


def _result(bb, bundle, run_dir, phases, unfrozen, groups, splits, probe, kept):
    first = [r for n, r in phases if n == 1]
    stages = [r for n, r in phases if n == 2]
    final = phases[-1][1]
    return FineTuneResult(
        model=final.model, history=_join_histories(phases), metrics=dict(final.metrics),
        run_dir=None if run_dir is None else os.path.abspath(os.fspath(run_dir)),
        class_names=tuple(bundle.class_names), preprocessing=bb.preprocessing, backbone=bb,
        phase1=first[0] if first else None, phase2=stages[-1] if stages else None,
        unfrozen=unfrozen, rate_groups=groups, splits=splits, probe=probe, selected=kept[0],
        val_accuracy=kept[1],
        stages=stages,
    )  # fmt: skip


def _record(result: FineTuneResult, plan: Plan, config) -> None:
    """Writes ``<run_dir>/finetune.json``: the probe, the plan, what was kept and its metrics."""
    if result.run_dir is None:
        return
    from zoo.training.runs import write_json

    write_json(os.path.join(result.run_dir, FINETUNE_JSON), {
        "probe": result.probe, "plan": dataclasses.asdict(plan), "selected": result.selected,
        "val_accuracy": result.val_accuracy, "metrics": result.metrics,
        "class_weight": result.class_weight, "backbone_metrics": result.backbone_metrics,
    })  # fmt: skip


def linear_probe(backbone, data, **kwargs) -> FineTuneResult:
    """A linear classifier on frozen features: ``fine_tune(..., linear_probe=True)``."""
    return fine_tune(backbone, data, linear_probe=True, **kwargs)


def _join_histories(phases) -> dict:
    out: dict[str, list] = {"epoch": [], "phase": []}
    offset = 0
    for number, phase in phases:
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


def _publish(result: FineTuneResult, name: str, overwrite: bool, root, settings: dict):
    from zoo.training.fit import publish_result

    final = result.phase2 or result.phase1
    bb = result.backbone
    extra = {
        "architecture": None,
        "backbone": {
            "name": bb.name,
            "kind": bb.kind,
            "weights": bb.weights,
            "architecture": (bb.manifest or {}).get("architecture")
            or (bb.name if bb.kind in ("zoo", "keras") else None),
        },
        "transfer": dict(settings),
        "metrics": result.metrics,
        "probe": result.probe,
        "selected": result.selected,
        "backbone_metrics": result.backbone_metrics,
        "epochs": len(result.history.get("epoch", [])),
        "run_dir": result.run_dir,
        # each phase's sessions, its epochs counted within the phase
        "sessions": [
            {**session, "phase": number}
            for number, phase in _numbered(result)
            for session in phase.sessions
        ],
    }
    return publish_result(final, name, overwrite=overwrite, root=root, extra=extra)


def _numbered(result: FineTuneResult):
    return ([(1, result.phase1)] if result.phase1 is not None else []) + [
        (2, stage) for stage in result.stages
    ]
