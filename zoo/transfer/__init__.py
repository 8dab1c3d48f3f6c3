"""Transfer learning: backbones, a new head, freeze/unfreeze, the fine-tune recipe.

A backbone is named by one string:

- a zoo architecture (``"resnet20"``, ``"vgg16"``, ...), built with
  ``include_top=False``; its weights come from ``weights`` (a file or a
  checkpoint name, see `zoo.weights`);
- a ``keras.applications`` model by its Keras name (``"ResNet50"``,
  ``"MobileNetV2"``, ...), ImageNet weights by default, with its own
  ``preprocess_input`` convention recorded in the `Preprocessing`;
- a zoo checkpoint in ``saved_models/`` (``"lenet5-mnist"``): its hashes
  are checked, its classifier is cut off and its preprocessing is kept;
- the path of a ``.keras`` model (loaded with ``safe_mode=True``).

`fine_tune` follows the Keras recipe (Chollet, "Transfer learning &
fine-tuning", keras.io) with a linear probe first (`zoo.transfer.probe`):
the head starts as a logistic regression on the frozen features; phase 1
trains it with the backbone frozen (BatchNorm in inference mode, moving
statistics untouched); phase 2 unfreezes the top blocks (all by default, at
once or gradually), BatchNorm still frozen; each phase stops early and the
best of probe/phase 1/phase 2 on validation is kept (`zoo.transfer.phases`). Optional policies (`zoo.transfer.rates`):
discriminative per-block rates in phase 2, BatchNorm trained (``bn="train"``);
biases and normalization parameters never get weight decay. A flat class
folder gets a test split carved (`zoo.transfer.carving`). Both phases run
through `zoo.train`, so augmentation, early stopping, checkpoints, resume and
the doctor are the training path's own.

Blocks are found from the deterministic layer names: ``block5_``,
``stage3_unit2_``, ``inception_5b_`` in the zoo; ``conv5_block3_``,
``block_16_``, ``block6a_``, ``mixed9`` in ``keras.applications``.

Submodules (the first four re-exported here):

- `zoo.transfer.backbone`: `Backbone`, `load_backbone`, `attach_head`;
- `zoo.transfer.blocks`: `backbone_blocks`, `freeze`, `unfreeze_top`,
  `HEAD_LAYERS`;
- `zoo.transfer.finetune`: `fine_tune`, `linear_probe`, `FineTuneResult`,
  `PHASE_DIRS`;
- `zoo.transfer.embeddings`: `embed`, `Embeddings`;
- `zoo.transfer.rates`: discriminative rate groups, the BatchNorm policy
  and the no-decay names (not re-exported; `fine_tune` applies them);
- `zoo.transfer.carving`: the train/val/test carve of a flat class folder;
- `zoo.transfer.probe`: the linear probe, class weights, the channel check,
  the publish guard;
- `zoo.transfer.phases`: the phases, gradual unfreezing, the best kept.

None of them imports Keras at import time. Layering: transfer builds on
`zoo.training` (one training path), `zoo.pretrained`, `zoo.weights` and
`zoo.saving`; none of those imports transfer.

Example:

```python
from zoo.training import TrainConfig

result = zoo.fine_tune("MobileNetV2", "flowers/", freeze_epochs=5,
                       unfreeze=2, config=TrainConfig(epochs=10),
                       run_dir="runs/flowers", save_as="mobilenetv2-flowers")
```
"""

# HEAD_LAYERS and PHASE_DIRS stay importable from here and, as before, out of `__all__`.
from zoo.transfer.backbone import Backbone, attach_head, load_backbone
from zoo.transfer.blocks import HEAD_LAYERS as HEAD_LAYERS
from zoo.transfer.blocks import backbone_blocks, freeze, unfreeze_top
from zoo.transfer.embeddings import Embeddings, embed
from zoo.transfer.finetune import FineTuneResult, fine_tune, linear_probe, previous_recipe
from zoo.transfer.phases import PHASE_DIRS as PHASE_DIRS

__all__ = [
    "Backbone",
    "Embeddings",
    "FineTuneResult",
    "attach_head",
    "backbone_blocks",
    "embed",
    "fine_tune",
    "freeze",
    "linear_probe",
    "load_backbone",
    "previous_recipe",
    "unfreeze_top",
]
