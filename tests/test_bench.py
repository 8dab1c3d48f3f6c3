"""Smoke tests of zoo.bench, `zoo bench` and the benchmark suite's plumbing.

No timing is asserted here: timing is for benchmarks, never for tests.
"""

from __future__ import annotations

import json
import sys

import pytest
from click.testing import CliRunner
from conftest import REPO, heavy_imports

from cli.bench_cmds import bench_cmd
from zoo.bench import benchmark_model, machine_info, summarize, time_calls


def test_benchmark_model_infer_reports_every_figure():
    r = benchmark_model("lenet5", batch_size=2, mode="infer", steps=2, warmup=1)
    assert r["name"] == "lenet5" and r["mode"] == "infer"
    assert r["input_shape"] == (32, 32, 1)
    assert r["params"] == 61_706
    assert r["step_time"]["repeats"] == 2
    assert r["images_per_s"] > 0 and r["peak_rss_mb"] > 0
    assert r["flops_per_step"] == 2 * r["macs_per_image"] * 2
    assert "ru_maxrss" in r["memory_method"]


def test_benchmark_model_train_counts_three_forward_passes():
    r = benchmark_model("lenet5", batch_size=4, mode="train", steps=1, warmup=0)
    assert r["flops_per_step"] == 3 * 2 * r["macs_per_image"] * 4
    assert r["first_step_s"] is None


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"mode": "fit"}, "mode"),
        ({"batch_size": 0}, "batch_size"),
        ({"steps": 0}, "steps"),
        ({"warmup": -1}, "warmup"),
        ({"input_shape": (32, 32)}, "input_shape"),
    ],
)
def test_benchmark_model_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        benchmark_model("lenet5", **kwargs)


def test_timing_helpers():
    calls = []
    times = time_calls(lambda: calls.append(1), steps=3, warmup=2)
    assert len(calls) == 5 and len(times) == 3
    s = summarize([3.0, 1.0, 2.0])
    assert (s["median_s"], s["min_s"], s["max_s"], s["repeats"]) == (2.0, 1.0, 3.0, 3)
    with pytest.raises(ValueError):
        summarize([])


def test_machine_info_names_cores_and_versions():
    info = machine_info()
    assert info["cores"] >= 1 and "keras" in info["versions"]
    assert isinstance(info["gpus"], list)


def test_cli_bench_prints_the_figures():
    result = CliRunner().invoke(
        bench_cmd, ["lenet5", "--batch-size", "2", "--steps", "1", "--warmup", "1"]
    )
    assert result.exit_code == 0, result.output
    for word in ("images/s", "step time", "parameters", "FLOPs", "peak memory", "ru_maxrss"):
        assert word in result.output


def test_cli_bench_json_and_input_shape():
    result = CliRunner().invoke(
        bench_cmd,
        [
            "lenet5",
            "--input-shape",
            "36,36,1",
            "--mode",
            "train",
            "--steps",
            "1",
            "--warmup",
            "0",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["input_shape"] == [36, 36, 1] and data["mode"] == "train"


@pytest.mark.parametrize(
    "args, message",
    [
        (["lenet6"], "Did you mean"),
        (["lenet5", "--input-shape", "16,16,1"], "32"),
    ],
)
def test_cli_bench_user_errors_are_one_line(args, message):
    result = CliRunner().invoke(bench_cmd, args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_cli_bench_rejects_bad_options():
    result = CliRunner().invoke(bench_cmd, ["lenet5", "--mode", "fit"])
    assert result.exit_code == 2


def test_importing_the_command_imports_no_keras():
    assert heavy_imports("import cli.bench_cmds, zoo.bench") == []


def test_run_all_keeps_the_hand_written_reading(tmp_path):
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import run_all
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    path = tmp_path / "RESULTS.md"
    path.write_text(
        f"# Title\n\nintro\n\n{run_all.BEGIN}\nold\n{run_all.END}\n\n## Reading\nkept\n"
    )
    run_all.write_results(path, f"{run_all.BEGIN}\nnew\n{run_all.END}")
    text = path.read_text()
    assert "new" in text and "old" not in text
    assert text.startswith("# Title") and text.rstrip().endswith("kept")
    fresh = tmp_path / "fresh.md"
    run_all.write_results(fresh, f"{run_all.BEGIN}\nfigures\n{run_all.END}")
    assert "figures" in fresh.read_text()


def test_run_all_renders_a_failed_script():
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import run_all
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    text = run_all.render(
        {"flops": {"error": "exit status 1", "seconds": 1.0}},
        machine_info(),
        quick=True,
        total_s=1.0,
    )
    assert "Failed: exit status 1" in text and "not measurements" in text
