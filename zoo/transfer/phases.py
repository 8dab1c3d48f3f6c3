"""The phases of a fine-tune: head on the frozen backbone, then unfrozen blocks, best kept.

Phase 1 trains the new head (started from the linear probe by default) on the
frozen backbone at the head's rate. Phase 2 unfreezes the top blocks at once
(``schedule="once"``) or one block group at a time (``"gradual"``, ULMFiT's
gradual unfreezing: stage ``i`` trains the top ``i`` groups, each stage in its
own run directory, so a killed fine-tune resumes at the stage it was in).
Each phase stops early on its validation loss and ends at its best epoch;
with ``keep_best`` the model returned is, among the probe-initialized head
(before any training) and each phase's end, the one with the best validation
accuracy (then loss), so the defaults are never worse on validation than the
linear probe. Few candidates, not every epoch: a maximum over many noisy
validation scores would flatter the winner.
"""

from __future__ import annotations

import dataclasses
import os

__all__ = ["PHASE_DIRS", "Plan", "run_phases", "stage_dir"]

PHASE_DIRS = ("phase1-head", "phase2-finetune")


@dataclasses.dataclass(frozen=True)
class Plan:
    """The checked settings of a fine-tune's phases."""

    freeze_epochs: int
    head_lr: float
    unfreeze: object
    fine_tune_lr: float
    schedule: str = "once"
    patience: int | None = None
    keep_best: bool = False
    class_weight: dict | None = None


def stage_dir(run_dir, stage: int, stages: int):
    """Phase 2's run folder: ``phase2-finetune``, or ``phase2-stage<i>`` when gradual."""
    if run_dir is None:
        return None
    name = PHASE_DIRS[1] if stages == 1 else f"phase2-stage{stage}"
    return os.path.join(os.fspath(run_dir), name)


def _stages(model, names, plan: Plan) -> list:
    """The ``unfreeze`` argument of each phase-2 stage: ``[unfreeze]``, or 1, 2, ..., K."""
    from zoo.transfer.blocks import backbone_blocks, check_unfreeze

    if plan.unfreeze in (0, "0"):
        return []
    if plan.schedule == "once":
        check_unfreeze(model, names, plan.unfreeze)  # a bad --unfreeze fails before phase 1
        return [plan.unfreeze]
    blocks = backbone_blocks(model, names)
    top = plan.unfreeze
    if isinstance(top, str) and top.isdigit():
        top = int(top)
    if top == "all":
        top = len(blocks)
    elif isinstance(top, str):  # a prefix: the blocks from the first holding such a layer
        first = next((i for i, (_, members) in enumerate(blocks)
                      if any(layer.name.startswith(top) for layer in members)), None)  # fmt: skip
        if first is None:
            raise ValueError(f"No backbone layer name starts with {top!r}.")
        top = len(blocks) - first
    return list(range(1, min(int(top), len(blocks)) + 1))


def _epoch_split(epochs: int, stages: int) -> list[int]:
    """Phase 2's epochs over its stages, the remainder to the last (each at least 1)."""
    if not stages:
        return []
    each = max(1, epochs // stages)
    return [each] * (stages - 1) + [max(1, epochs - each * (stages - 1))]


class _Best:
    """The best candidate seen: highest validation accuracy, then lowest validation loss."""

    def __init__(self):
        self.key, self.label, self.weights = None, None, None

    def offer(self, scores, label, model) -> None:
        if not scores or scores.get("val_accuracy") is None:
            return
        key = (scores["val_accuracy"], -scores.get("val_loss", 0.0))
        if self.key is None or key > self.key:
            self.key, self.label = key, label
            self.weights = {v.path: v.numpy() for v in model.weights}


def _val_scores(model, bundle, prep, config) -> dict | None:
    from zoo.training.model_setup import evaluate_model

    if bundle.get("val") is None:
        return None
    return evaluate_model(model, bundle, "val", prep, config)


def _val_accuracy(model, bundle, prep, config):
    return (_val_scores(model, bundle, prep, config) or {}).get("val_accuracy")


def run_phases(model, bundle, config, names, run_dir, *, resume, common, plan: Plan, policy):
    """Phase 1 (head), then phase 2 (once or gradual); the best on validation kept.

    Returns:
        ``(phases, unfrozen, groups, (selected, val_accuracy))``: ``[(phase number,
        TrainResult)]``, the layers phase 2 trained last, its last rate groups,
        which model was kept (``"probe"``, ``"phase1"``, ``"phase2"``, ``"phase2
        stage 2"``, or ``"last"`` without ``keep_best``) and its validation accuracy.
    """
    from zoo.training.fit import train
    from zoo.training.optimizers import wrapping_optimizers
    from zoo.transfer.blocks import freeze, unfreeze_top
    from zoo.transfer.rates import apply_bn_policy, discriminative_groups, optimizer_policy

    best, prep = _Best(), common["preprocessing"]
    if plan.keep_best and policy.get("probe"):
        best.offer(_val_scores(model, bundle, prep, config), "probe", model)
    stages = _stages(model, names, plan)
    stop = {"early_stopping": True, "patience": plan.patience} if plan.patience else {}
    phases, unfrozen, groups = [], [], []
    kwargs = {**common, "class_weight": plan.class_weight}
    if plan.freeze_epochs >= 1:
        cfg1 = config.replace(epochs=plan.freeze_epochs, warmup_epochs=0,
                              learning_rate=plan.head_lr, **stop)  # fmt: skip
        d1 = None if run_dir is None else os.path.join(os.fspath(run_dir), PHASE_DIRS[0])
        with wrapping_optimizers(optimizer_policy()):
            result = train(model, bundle, cfg1, run_dir=d1, resume=_resumable(resume, d1),
                           evaluate_test=not stages, **kwargs)  # fmt: skip
        phases.append((1, result))
        model = result.model
        if result.status == "diverged":
            stages = []
        elif plan.keep_best:
            best.offer(_val_scores(model, bundle, prep, config), "phase1", model)
    for i, (count, epochs) in enumerate(
        zip(stages, _epoch_split(config.epochs, len(stages)), strict=False)
    ):
        freeze(model, names)  # each stage: exactly its top ``count`` groups
        unfrozen = unfreeze_top(model, names, count)
        apply_bn_policy(model, names, policy["bn"])
        groups = discriminative_groups(model, names, policy["factor"]) if policy["factor"] else []
        cfg2 = config.replace(learning_rate=plan.fine_tune_lr, epochs=epochs, **stop)
        d2 = stage_dir(run_dir, i + 1, len(stages))
        with wrapping_optimizers(optimizer_policy(groups)):
            result = train(model, bundle, cfg2, run_dir=d2, resume=_resumable(resume, d2),
                           evaluate_test=i == len(stages) - 1, **kwargs)  # fmt: skip
        phases.append((2, result))
        model = result.model
        if result.status == "diverged":
            break
        if plan.keep_best:
            label = "phase2" if len(stages) == 1 else f"phase2 stage {i + 1}"
            best.offer(_val_scores(model, bundle, prep, config), label, model)
    return phases, unfrozen, groups, _keep(best, phases, bundle, prep, config, plan)


def _keep(best: _Best, phases, bundle, prep, config, plan) -> str:
    """Sets the last phase's model to the best weights seen; re-measures its test split.

    Returns:
        ``(label, validation accuracy)`` of the model kept.
    """
    from zoo.training.model_setup import evaluate_model

    final = phases[-1][1]
    if not plan.keep_best or best.weights is None:
        return "last", _val_accuracy(final.model, bundle, prep, config)
    if best.label != "probe" and best.label == _last_label(phases) and final.status != "diverged":
        return best.label, best.key[0]
    for variable in final.model.weights:  # by path: trainable flags reorder get_weights()
        variable.assign(best.weights[variable.path])
    if bundle.get("test") is not None:
        final.metrics = evaluate_model(final.model, bundle, "test", prep, config)
    return best.label, best.key[0]


def _last_label(phases) -> str:
    stages = sum(1 for n, _ in phases if n == 2)
    if not stages:
        return "phase1"
    return "phase2" if stages == 1 else f"phase2 stage {stages}"


def _resumable(resume: bool, run_dir) -> bool:
    from zoo.training.runs import RunDirectory

    return bool(resume and run_dir is not None and RunDirectory(run_dir).exists)
