"""The zoo's checkpoints: ``saved_models/<name>/model.keras`` + ``manifest.json``.

A checkpoint is whole or absent: `publish` writes it into a temporary folder
inside the saved-models folder and renames it into place. Its
``manifest.json`` holds the sha256 of every file, the versions it was made
with, and what a user of the model needs: the registry name, input shape,
preprocessing, class names in index order, metrics and training config.
`load_pretrained` checks every hash before loading, and loads only
``.keras`` with ``safe_mode=True``.

Shipped checkpoints are read-only package data (`shipped_root`); published
ones go to the user folder (`saved_models_root`: ``$ZOO_SAVED_MODELS``, else
``$ZOO_HOME/saved_models``, else ``~/.local/share/keras-zoo/saved_models`` or the
platform's equivalent). Listing and loading look in the user folder first;
an explicit ``root`` is the only folder used.

This module is the public face of three modules, by what they do:

- `zoo.saved_models`: names, the folder, manifests, hashes, `verify`,
  `load_pretrained`;
- `zoo.publishing`: `publish`;
- `zoo.exporting`: `export_model` (SavedModel, ONNX, TFLite).

Layering: ``pretrained -> publishing / exporting -> saved_models -> saving``;
none of them imports `zoo.models` or `zoo.training` (training publishes
through this module, not the reverse). Keras is imported only when a model is
loaded, saved or exported.

Example:

```python
zoo.pretrained.publish(result.model, "lenet5-mnist",
                       {"architecture": "lenet5", "class_names": result.class_names})
model = zoo.load_pretrained("lenet5-mnist")
```
"""

from __future__ import annotations

from zoo.exporting import EXPORT_FORMATS, ExportError, export_model
from zoo.publishing import publish
from zoo.saved_models import (
    ENV_ROOT,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    MODEL_FILE,
    ChecksumError,
    PretrainedError,
    check_name,
    exists,
    is_valid_name,
    list_pretrained,
    load_pretrained,
    model_path,
    read_manifest,
    saved_models_root,
    search_roots,
    sha256_file,
    shipped_root,
    verify,
)

__all__ = [
    "ENV_ROOT",
    "EXPORT_FORMATS",
    "FORMAT",
    "FORMAT_VERSION",
    "MANIFEST",
    "MODEL_FILE",
    "ChecksumError",
    "ExportError",
    "PretrainedError",
    "check_name",
    "exists",
    "export_model",
    "is_valid_name",
    "list_pretrained",
    "load_pretrained",
    "model_path",
    "publish",
    "read_manifest",
    "saved_models_root",
    "search_roots",
    "sha256_file",
    "shipped_root",
    "verify",
]
