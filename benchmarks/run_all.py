"""Runs every benchmark and rewrites the generated part of benchmarks/RESULTS.md.

Each script runs in its own process (fresh memory, its own backend), writes
its figures as JSON, and this script renders them, with the command, the
machine (CPU, cores, GPU, load), versions and date, between the
``<!-- BEGIN GENERATED -->`` and ``<!-- END GENERATED -->`` markers of
RESULTS.md. The hand-written reading around the markers is kept.

The scripts only use the CPU; on a machine with a GPU the backends use it
automatically (and the machine section says so).

Run (from the repository root):

    python benchmarks/run_all.py            # the full suite, a few minutes on 2 cores
    python benchmarks/run_all.py --quick    # smoke run: seconds per script, figures meaningless
    python benchmarks/run_all.py --keep-json /tmp/zoo-bench-json --only flops
                                            # rerun one, keep the others' figures
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _common  # noqa: F401

from zoo.bench import machine_info

SCRIPTS = {
    "vs_applications": "bench_vs_applications.py",
    "train_overhead": "bench_train_overhead.py",
    "backends": "bench_backends.py",
    "input_pipeline": "bench_input_pipeline.py",
    "flops": "bench_flops.py",
    "gpu_resnet50": "bench_gpu_resnet50.py",
}
BEGIN, END = "<!-- BEGIN GENERATED -->", "<!-- END GENERATED -->"


def _load() -> str:
    try:
        return "{:.1f} / {:.1f} / {:.1f}".format(*os.getloadavg())
    except OSError:
        return "n/a"


def run_scripts(names, quick: bool, out_dir: pathlib.Path) -> dict:
    results = {}
    for name in names:
        path = out_dir / f"{name}.json"
        cmd = [sys.executable, str(HERE / SCRIPTS[name]), "--json", str(path)]
        if quick:
            cmd.append("--quick")
        print(f"\n=== {name}: {' '.join(cmd[1:])}  (load {_load()})", flush=True)
        load_before = _load()
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=HERE.parent, check=False)
        seconds = time.perf_counter() - start
        if proc.returncode or not path.exists():
            results[name] = {"error": f"exit status {proc.returncode}", "seconds": seconds}
            continue
        data = json.loads(path.read_text())
        data["seconds"] = seconds
        data["load_before"], data["load_after"] = load_before, _load()
        path.write_text(json.dumps(data, indent=2, default=str))
        results[name] = data
    return results


# --------------------------------------------------------------------------- render


def _f(v, fmt="{:.1f}"):
    return "n/a" if v is None else fmt.format(v)


def _span(m: dict) -> str:
    return f"{m['epoch_median_s']:.2f} ({m['epoch_min_s']:.2f}-{m['epoch_max_s']:.2f})"


def _table(header, rows) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return lines


def _head(title, data) -> list[str]:
    return [
        f"### {title}",
        "",
        (
            f"`{data['command']}` ({_f(data.get('seconds'), '{:.0f}')} s; 1/5/15-min load average "
            f"before -> after: {data.get('load_before', 'n/a')} -> {data.get('load_after', 'n/a')}; "
            f"measured {data.get('machine', {}).get('date', 'n/a')})"
        ),
        "",
    ]


def render_vs_applications(d) -> list[str]:
    rows = []
    for r in d["results"]:
        z, k = r["zoo"], r["keras_applications"]
        size = "x".join(map(str, r["input_shape"]))
        rows.append(
            (
                r["arch"],
                r["mode"],
                f"{r['batch_size']} x {size}",
                f"{z['images_per_s']:.1f}",
                f"{k['images_per_s']:.1f}",
                f"{z['median_s'] * 1e3:.0f} ({z['min_s'] * 1e3:.0f}-{z['max_s'] * 1e3:.0f})",
                f"{k['median_s'] * 1e3:.0f} ({k['min_s'] * 1e3:.0f}-{k['max_s'] * 1e3:.0f})",
                f"**{r['ratio']:.3f}**",
                f"{k['min_s'] / z['min_s']:.3f}",
                "met" if r["met"] else "missed",
            )
        )
        if r.get("zoo_default"):
            zd = r["zoo_default"]
            rows.append(
                (
                    f"{r['arch']} (zoo v1.5 default)",
                    r["mode"],
                    f"{r['batch_size']} x {size}",
                    f"{zd['images_per_s']:.1f}",
                    f"{k['images_per_s']:.1f}",
                    f"{zd['median_s'] * 1e3:.0f} ({zd['min_s'] * 1e3:.0f}-{zd['max_s'] * 1e3:.0f})",
                    "",
                    f"{zd['ratio']:.3f}",
                    f"{k['min_s'] / zd['min_s']:.3f}",
                    "(other variant)",
                )
            )
    title = f"1. zoo vs keras.applications (same architecture, backend {d['backend']})"
    return (
        _head(title, d)
        + _table(
            (
                "model",
                "mode",
                "batch x input",
                "zoo img/s",
                "apps img/s",
                "zoo step ms med (min-max)",
                "apps step ms med (min-max)",
                "ratio (median)",
                "ratio (min)",
                "target >= 1.00",
            ),
            rows,
        )
        + [
            "",
            (
                'ResNet-50 rows compare the same variant (zoo `stride_on="1x1"`, the paper\'s, as '
                "keras.applications builds it); the zoo's v1.5 default (stride on the 3x3 conv, 6 % more "
                "multiply-adds) is timed in the same turns."
            ),
            "",
            f"{d['repeats']} interleaved repeats after {d['warmup']} warm-up steps; "
            "ratio = zoo images/s "
            "/ keras.applications images/s. Parameters: "
            + "; ".join(
                f"{r['arch']} zoo {r['params_zoo']:,} vs apps {r['params_keras_applications']:,}"
                for r in d["results"]
                if r["mode"] == "infer"
            )
            + ".",
            "",
        ]
    )


def render_train_overhead(d) -> list[str]:
    names = {
        "bare": "bare `model.fit`",
        "zoo": "`zoo.train` (defaults)",
        "zoo+run_dir": "`zoo.train` + `run_dir` (checkpoint every epoch)",
    }
    rows = []
    for key, label in names.items():
        r = d["results"][key]
        c = r["call"]
        cpu = c.get("cpu_median_s")
        rows.append(
            (
                label,
                f"{c['median_s']:.2f} ({c['min_s']:.2f}-{c['max_s']:.2f})",
                f"**{r['ratio_call']:.3f}**",
                f"{r['epoch_median_s']:.3f} ({r['epoch_min_s']:.3f}-{r['epoch_max_s']:.3f})",
                f"**{r['ratio_epoch']:.3f}**",
                _f(cpu, "{:.2f}"),
                _f(r.get("ratio_cpu"), "**{:.3f}**"),
                f"{r['images_per_s']:.0f}",
            )
        )
    out = _head("2. `zoo.train` overhead vs bare `model.fit` (LeNet-5, MNIST sample)", d) + _table(
        (
            "contender",
            "whole call s med (min-max)",
            "ratio",
            "steady epoch s med (min-max)",
            "ratio",
            "call CPU s (med)",
            "ratio",
            "train img/s",
        ),
        rows,
    )
    out += [
        "",
        (
            f"Batch {d['batch_size']}, {d['epochs']} epochs of {d['train_examples']} images + "
            f"validation, {d['repeats']} interleaved repeats after 1 warm-up call each. Target "
            f"<= 1.03 for `zoo.train` (defaults): **{'met' if d['met'] else 'missed'}**."
        ),
        "",
    ]
    if d.get("knobs"):
        out += ["Bare `model.fit` knobs, same training (steady-state epoch):", ""]
        out += _table(
            ("variant", "whole call s", "epoch s", "speed-up vs first row"),
            [
                (
                    k,
                    f"{v['call']['median_s']:.2f}",
                    f"{v['epoch_median_s']:.3f}",
                    f"{v['speedup_vs_first']:.2f}x",
                )
                for k, v in d["knobs"].items()
            ],
        )
        out.append("")
    return out


def render_backends(d) -> list[str]:
    rows = []
    for model in d["fastest"]:
        ranked = sorted(
            d["results"].items(), key=lambda kv: -kv[1]["models"][model]["images_per_s"]
        )
        top = ranked[0][1]["models"][model]["images_per_s"]
        for label, r in ranked:
            m = r["models"][model]
            rows.append(
                (
                    model,
                    label,
                    m["batch_size"],
                    f"{m['images_per_s']:.0f}",
                    _span(m),
                    f"{m['first_epoch_s']:.1f}",
                    f"{m['images_per_s'] / top:.2f}",
                )
            )
    out = _head("3. Backends: the same zoo model under each Keras backend", d) + _table(
        (
            "model",
            "backend",
            "batch",
            "train img/s",
            "epoch s med (min-max)",
            "first epoch s",
            "vs fastest",
        ),
        rows,
    )
    out += [
        "",
        "Fastest: "
        + ", ".join(f"{m}: **{b}**" for m, b in d["fastest"].items())
        + f". {d['epochs']} timed epochs after 1 warm-up epoch, one process per backend.",
    ]
    for label, why in d.get("skipped", {}).items():
        out.append(f"Skipped {label}: {why}.")
    out.append("")
    return out


def render_input_pipeline(d) -> list[str]:
    rows = [
        (
            name,
            f"{r['images_per_s']:,.0f}",
            f"{r['median_s']:.2f} ({r['min_s']:.2f}-{r['max_s']:.2f})",
            _f(r.get("ratio_vs_torchvision"), "{:.2f}"),
        )
        for name, r in d["results"].items()
    ]
    out = _head("4. Input pipeline: JPEG folder -> decoded, flipped + cropped batches", d) + _table(
        ("pipeline", "images/s", "epoch s med (min-max)", "vs torchvision"), rows
    )
    out += [
        "",
        (
            f"{d['images']:,} CIFAR-10 train JPEGs (32x32), batch {d['batch_size']}, "
            f"{d['workers']} workers, {d['repeats']} interleaved repeats after 1 warm-up epoch. "
            f"`zoo.data.load` itself (screen + decode once): {d['zoo_load_s']:.2f} s = "
            f"{d['zoo_load_images_per_s']:,.0f} images/s. Target >= 1.0 vs torchvision: "
            f"**{ {True: 'met', False: 'missed', None: 'not measured'}[d['met']] }**."
        ),
    ]
    for label, why in d.get("skipped", {}).items():
        out.append(f"Skipped {label}: {why}.")
    out.append("")
    return out


def render_flops(d) -> list[str]:
    peaks = ", ".join(f"{k} {v:.1f} GFLOP/s" for k, v in d["matmul_peak_gflops"].items())
    rows = [
        (
            m["name"],
            m["mode"],
            m["batch_size"],
            "x".join(map(str, m["input_shape"])),
            f"{m['macs_per_image'] / 1e6:.1f} M",
            f"{m['step_time']['median_s'] * 1e3:.0f}",
            f"{m['images_per_s']:.0f}",
            f"{m['achieved_gflops']:.1f}",
            f"**{m['fraction_of_peak']:.0%}**",
        )
        for m in d["models"]
    ]
    return (
        _head("5. Achieved FLOP/s vs measured matmul peak", d)
        + [f"Matmul peak (float32 {d['matmul_n']}x{d['matmul_n']}, best of repeats): {peaks}.", ""]
        + _table(
            (
                "model",
                "mode",
                "batch",
                "input",
                "MACs/image",
                "step ms (median)",
                "img/s",
                "achieved GFLOP/s",
                "of peak",
            ),
            rows,
        )
        + ["", "A training step counts 3 x forward MACs x 2 FLOPs (`zoo.info.count_macs`).", ""]
    )


def render_gpu_resnet50(d) -> list[str]:
    title = "6. GPU: ResNet-50 training, bfloat16, zoo (JAX) vs keras.applications vs torchvision"
    if d.get("skipped") and isinstance(d["skipped"], str):
        return _head(title, d) + [
            (
                f"Skipped: {d['skipped']} (the GPU figures recorded on a lent "
                "H100 are in the hand-written GPU section below)."
            ),
            "",
        ]
    res = d["results"]
    ref = res.get("torch-compile", {}).get("images_per_s")
    rows = [
        (
            name,
            f"{r['images_per_s']:,.0f}",
            f"{r['median_s'] / d['steps'] * 1e3:.1f}",
            f"{r['params']:,}",
            f"{r['images_per_s'] / ref:.2f}" if ref else "-",
        )
        for name, r in res.items()
    ]
    return (
        _head(title, d)
        + [
            (
                f"Devices: {', '.join(d['devices'])}; batch {d['batch_size']} x "
                f"224x224x3, {d['repeats']} repeats of {d['steps']} steps."
            ),
            "",
        ]
        + _table(("contender", "images/s", "step ms", "params", "vs torch.compile"), rows)
        + [""]
    )


RENDER = {
    "vs_applications": render_vs_applications,
    "train_overhead": render_train_overhead,
    "backends": render_backends,
    "input_pipeline": render_input_pipeline,
    "flops": render_flops,
    "gpu_resnet50": render_gpu_resnet50,
}


def render(results: dict, machine: dict, quick: bool, total_s: float, ran=None) -> str:
    gpu = ", ".join(machine["gpus"]) or "none"
    versions = ", ".join(f"{k} {v}" for k, v in machine["versions"].items())
    if ran is not None and not ran:
        summary = (
            f"Rendered {machine['date']} by `python benchmarks/run_all.py --render-only` "
            "from the JSON each script wrote when it ran (each section gives its own "
            "command, duration, load and date)."
        )
    else:
        summary = None
    lines = [
        BEGIN,
        "",
        summary
        or f"Measured {machine['date']} by "
        f"`python benchmarks/run_all.py{' --quick' if quick else ''}` "
        f"({total_s / 60:.1f} min)"
        + (
            "."
            if ran is None or set(ran) >= set(results)
            else f"; this time only {', '.join(ran) or 'rendering from the JSON of earlier runs'}"
            + (", the other sections are kept from earlier runs" if ran else "")
            + " (each section gives its own command, duration, load and date)."
        ),
        "",
        (
            f"- Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gb']} GB RAM, "
            f"GPU: {gpu}; {machine['platform']}"
        ),
        f"- Versions: Python {machine['python']}, {versions}",
        "",
    ]
    if quick:
        lines += ["**Quick smoke run: these figures are not measurements.**", ""]
    for name, data in results.items():
        if "error" in data:
            lines += [f"### {name}", "", f"Failed: {data['error']} (see the console output).", ""]
            continue
        lines += RENDER[name](data)
    lines.append(END)
    return "\n".join(lines)


def write_results(path: pathlib.Path, generated: str) -> None:
    text = path.read_text() if path.exists() else ""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text = head + generated + tail
    else:
        text = "# Benchmark results\n\n" + generated + "\n" + text
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="Smoke run (figures meaningless).")
    p.add_argument("--only", action="append", choices=sorted(SCRIPTS), help="Run only these.")
    p.add_argument("--results", default=str(HERE / "RESULTS.md"), help="File to update.")
    p.add_argument(
        "--keep-json",
        metavar="DIR",
        help="Keep each script's JSON here; with --only, the other sections come from here.",
    )
    p.add_argument(
        "--render-only",
        action="store_true",
        help="Run nothing; rewrite RESULTS.md from the JSON in --keep-json.",
    )
    args = p.parse_args(argv)
    names = [n for n in SCRIPTS if not args.only or n in args.only]
    if args.render_only:
        if not args.keep_json:
            p.error("--render-only needs --keep-json DIR")
        names = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="zoo-bench-") as tmp:
        out_dir = pathlib.Path(args.keep_json or tmp)
        out_dir.mkdir(parents=True, exist_ok=True)
        results = run_scripts(names, args.quick, out_dir)
        if args.keep_json:  # figures of the scripts not run this time, from earlier runs
            for name in SCRIPTS:
                path = out_dir / f"{name}.json"
                if name not in results and path.exists():
                    results[name] = json.loads(path.read_text())
        results = {name: results[name] for name in SCRIPTS if name in results}
    generated = render(results, machine_info(), args.quick, time.perf_counter() - start, names)
    write_results(pathlib.Path(args.results), generated)
    print(f"\nUpdated {args.results}")
    return 1 if any("error" in r for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
