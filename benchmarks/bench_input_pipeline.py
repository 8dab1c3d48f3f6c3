"""Input pipeline: a JPEG folder decoded, augmented (flip + crop) and batched.

Data: a 10,000-image CIFAR-10 train subset (1,000 JPEGs per class, 32x32 RGB)
copied from ``../shared/data/cifar10.tar.gz`` into ``--root`` on first use.
Every contender yields shuffled batches of 128 float32 images, randomly
flipped left-right and randomly cropped back to 32x32 after 4-pixel zero
padding (the CIFAR recipe), with their labels, using 2 workers (this
machine's cores). One epoch = 10,000 images; images/s per epoch, median of
interleaved repeats after one warm-up epoch each (which also warms the page
cache for all of them).

- zoo streaming: ``zoo.data``'s `ImageFileDataset` (Pillow decode, the path
  for folders too big for memory), batches fetched by 2 threads as Keras
  does with ``workers=2``; flip + crop in NumPy per batch.
- zoo in memory: ``zoo.data.load(folder)`` screens and decodes once (its
  cost is reported separately), then every epoch augments the in-memory
  array in NumPy.
- tf.data: ``tf.io.read_file`` + ``decode_jpeg`` mapped in parallel,
  augmentation in TensorFlow, ``prefetch`` (a prototype of a fast path; it
  skips zoo's per-file screening, so it would have to run on a screened
  file list).
- torchvision: ``ImageFolder`` + ``DataLoader(num_workers=2)`` with
  ``RandomCrop(32, padding=4)``, ``RandomHorizontalFlip``, ``PILToTensor``
  (skipped, with the reason, when torch/torchvision are not installed).

Ratio = zoo images/s / torchvision images/s; the target is >= 1.0.

Run: python benchmarks/bench_input_pipeline.py [--quick] [--json out.json]
"""

from __future__ import annotations

import concurrent.futures
import os
import pathlib
import shutil
import tarfile
import time

import _common  # noqa: F401  (sys.path, quiet TF logs)
from _common import SHARED_DATA, interleaved, parser, print_table, report

BATCH = 128
WORKERS = 2
PAD = 4


def make_subset(root: pathlib.Path, per_class: int) -> pathlib.Path:
    """``root/<class>/*.jpg`` with ``per_class`` CIFAR-10 train images per class."""
    marker = root / f".complete-{per_class}"
    if marker.exists():
        return root
    source = pathlib.Path("/tmp/cifar10/train")
    if not source.is_dir():
        archive = SHARED_DATA / "cifar10.tar.gz"
        if not archive.exists():
            raise SystemExit(f"CIFAR-10 not found: neither {source} nor {archive} exists.")
        with tarfile.open(archive) as tar:
            members = [m for m in tar.getmembers() if m.name.startswith("cifar10/train/")]
            for m in members:  # stay inside the target folder
                if m.name.startswith("/") or ".." in pathlib.PurePath(m.name).parts:
                    raise SystemExit(f"refusing archive member {m.name!r}")
            tar.extractall("/tmp", members=members, filter="data")
    if root.exists():
        shutil.rmtree(root)
    for cls in sorted(p.name for p in source.iterdir() if p.is_dir()):
        (root / cls).mkdir(parents=True)
        for f in sorted((source / cls).iterdir())[:per_class]:
            shutil.copyfile(f, root / cls / f.name)
    marker.touch()
    return root


def np_augment(x, rng):
    """Random left-right flip + pad-4 random crop of a uint8 NHWC batch -> float32."""
    import numpy as np

    n, h, w, _ = x.shape
    flip = rng.random(n) < 0.5
    x = np.where(flip[:, None, None, None], x[:, :, ::-1], x)
    padded = np.pad(x, ((0, 0), (PAD, PAD), (PAD, PAD), (0, 0)))
    dy = rng.integers(0, 2 * PAD + 1, n)
    dx = rng.integers(0, 2 * PAD + 1, n)
    rows = dy[:, None] + np.arange(h)[None, :]
    cols = dx[:, None] + np.arange(w)[None, :]
    out = padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]
    return out.astype("float32")


def zoo_streaming(root: pathlib.Path):
    import numpy as np

    from zoo.data import screen_folder
    from zoo.data.streaming import ImageFileDataset

    report_ = screen_folder(root, decode=False)
    records = report_.files(None)
    ds = ImageFileDataset(
        [root / r.path for r in records],
        [r.label for r in records],
        image_size=(32, 32),
        channels=3,
        batch_size=BATCH,
        shuffle=True,
    )
    rng = np.random.default_rng(0)
    pool = concurrent.futures.ThreadPoolExecutor(WORKERS)

    def epoch():
        n = 0
        for x, _y in pool.map(ds.__getitem__, range(len(ds))):
            n += len(np_augment(x, rng))
        ds.on_epoch_end()
        return n

    return epoch


def zoo_in_memory(root: pathlib.Path):
    import numpy as np

    import zoo.data

    start = time.perf_counter()
    bundle = zoo.data.load(root, validation_split=0, workers=WORKERS)
    load_s = time.perf_counter() - start
    x, _y = bundle.train
    rng = np.random.default_rng(0)

    def epoch():
        order = rng.permutation(len(x))
        n = 0
        for i in range(0, len(x), BATCH):
            idx = order[i : i + BATCH]
            n += len(np_augment(x[idx], rng))
        return n

    return epoch, load_s, len(x)


def tf_data(root: pathlib.Path):
    import tensorflow as tf

    classes = sorted(p.name for p in root.iterdir() if p.is_dir())
    paths, labels = [], []
    for i, cls in enumerate(classes):
        for f in sorted((root / cls).iterdir()):
            paths.append(str(f))
            labels.append(i)

    def load(path, label):
        image = tf.io.decode_jpeg(tf.io.read_file(path), channels=3)
        image.set_shape((32, 32, 3))
        return image, label

    def augment(x, y):
        x = tf.image.random_flip_left_right(x)
        x = tf.pad(x, [[PAD, PAD], [PAD, PAD], [0, 0]])
        x = tf.image.random_crop(x, (32, 32, 3))
        return tf.cast(x, tf.float32), y

    options = tf.data.Options()
    options.threading.private_threadpool_size = WORKERS
    ds = (
        tf.data.Dataset.from_tensor_slices((paths, labels))
        .shuffle(len(paths), seed=0)
        .map(load, num_parallel_calls=WORKERS)
        .map(augment, num_parallel_calls=WORKERS)
        .batch(BATCH)
        .prefetch(2)
        .with_options(options)
    )

    def epoch():
        n = 0
        for x, _ in ds:
            n += int(x.shape[0])
        return n

    return epoch


def import_torchvision():
    """Imports torch + torchvision, or returns the reason they are unusable.

    Must run before TensorFlow is imported: with the CUDA build of torch,
    importing torchvision (which imports triton) after TensorFlow segfaults.
    """
    try:
        import torch  # noqa: F401
        import torchvision  # noqa: F401
    except ImportError as error:
        return (
            f"not installed ({error}); `pip install torch torchvision` (extra `bench`) to compare"
        )
    return None


def torchvision_loader(root: pathlib.Path):
    import torch
    from torchvision import datasets, transforms

    torch.set_num_threads(1)
    transform = transforms.Compose(
        [
            transforms.RandomCrop(32, padding=PAD),
            transforms.RandomHorizontalFlip(),
            transforms.PILToTensor(),
            transforms.ConvertImageDtype(torch.float32),
        ]
    )
    dataset = datasets.ImageFolder(str(root), transform=transform)
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=BATCH, shuffle=True, num_workers=WORKERS, persistent_workers=True
    )

    def epoch():
        n = 0
        for x, _ in loader:
            n += int(x.shape[0])
        return n

    return epoch


def main(argv=None) -> dict:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--root", default="/tmp/zoo-bench/cifar10-10k", help="Subset folder.")
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    torch_missing = import_torchvision()  # first: before anything imports TensorFlow
    per_class = 100 if args.quick else 1000
    root = make_subset(pathlib.Path(args.root + ("-quick" if args.quick else "")), per_class)
    images = per_class * 10
    repeats = 1 if args.quick else args.repeats

    contenders, skipped, notes = {}, {}, {}
    contenders["zoo streaming (Pillow, 2 threads)"] = zoo_streaming(root)
    in_memory, load_s, loaded = zoo_in_memory(root)
    contenders["zoo in memory (after load)"] = in_memory
    notes["zoo_load_s"] = load_s
    notes["zoo_load_images_per_s"] = loaded / load_s
    try:
        contenders["tf.data (decode_jpeg, 2 threads)"] = tf_data(root)
    except ImportError as error:
        skipped["tf.data"] = f"tensorflow not installed ({error})"
    if torch_missing:
        skipped["torchvision"] = torch_missing
    else:
        contenders["torchvision ImageFolder+DataLoader (2 workers)"] = torchvision_loader(root)
    for name, reason in skipped.items():
        print(f"[{name}] skipped: {reason}")

    timing = interleaved(contenders, repeats=repeats, warmup=1)
    tv_name = next((n for n in timing if n.startswith("torchvision")), None)
    rows, results = [], {}
    for name, t in timing.items():
        ips = images / t["median_s"]
        ratio = ips / (images / timing[tv_name]["median_s"]) if tv_name else None
        results[name] = {**t, "images_per_s": ips, "ratio_vs_torchvision": ratio}
        rows.append(
            (
                name,
                f"{ips:,.0f}",
                f"{t['median_s']:.2f} ({t['min_s']:.2f}-{t['max_s']:.2f})",
                f"{ratio:.2f}" if ratio else "n/a",
            )
        )
    print(
        f"{images:,} CIFAR-10 JPEGs (32x32), batch {BATCH}, flip + pad-{PAD} crop, "
        f"{WORKERS} workers, {repeats} interleaved repeats after 1 warm-up epoch"
    )
    print_table(rows, ("pipeline", "images/s", "epoch s median (min-max)", "vs torchvision"))
    print(
        f"zoo.data.load (screen + decode {loaded:,} files once): {load_s:.2f} s "
        f"= {loaded / load_s:,.0f} images/s"
    )
    zoo_best = max(results[n]["images_per_s"] for n in results if n.startswith("zoo"))
    payload = {
        "command": "python benchmarks/bench_input_pipeline.py" + (" --quick" if args.quick else ""),
        "images": images,
        "batch_size": BATCH,
        "workers": WORKERS,
        "repeats": repeats,
        "results": results,
        "skipped": skipped,
        **notes,
        "target": ">= 1.0 vs torchvision",
        "met": (zoo_best / results[tv_name]["images_per_s"] >= 1.0) if tv_name else None,
        "cpu_count": os.cpu_count(),
    }
    report("input_pipeline", payload, args.json)
    return payload


if __name__ == "__main__":
    main()
