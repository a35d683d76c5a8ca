"""The benchmark runs end to end: ``bench/run.py --quick`` exits 0 and writes a well-formed
report: every metric, with its numbers, its target, and the verdict that its ratio earns
against that target. Whether a target is met is the benchmark's finding, not a test: no
timing is asserted here."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"

Target = Optional[Tuple[float, float, str]]


def declared() -> Tuple[Tuple[str, ...], Dict[str, Target]]:
    """bench/run.py's METRICS and TARGETS, read in a separate interpreter."""
    code = "import json, run; print(json.dumps({'metrics': run.METRICS, 'targets': run.TARGETS}))"
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=BENCH, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    targets = {k: None if v is None else (v[0], v[1], v[2]) for k, v in data["targets"].items()}
    return tuple(data["metrics"]), targets


def earned(target: Target, ratio: float) -> str:
    """The verdict a ratio A/B earns, as bench/run.py's TARGETS define it: (preferred bound,
    hard bound, direction). "max": ok up to the preferred bound, tolerated up to the hard one,
    OVER beyond; "min": ok from the bound up, UNDER below; no target: info."""
    if target is None:
        return "info"
    preferred, hard, direction = target
    if direction == "min":
        return "ok" if ratio >= preferred else "UNDER"
    assert direction == "max", target
    if ratio <= preferred:
        return "ok"
    return "tolerated" if ratio <= hard else "OVER"


def test_earned_verdicts_at_the_bounds() -> None:
    """The reading of a target that the report is checked against, at its edges."""
    capped: Target = (1.00, 1.10, "max")
    assert [earned(capped, r) for r in (0.5, 1.00, 1.05, 1.10, 1.11)] == [
        "ok",
        "ok",
        "tolerated",
        "tolerated",
        "OVER",
    ]
    assert [earned((0.95, 0.95, "min"), r) for r in (0.94, 0.95, 2.0)] == ["UNDER", "ok", "ok"]
    assert earned(None, 3.0) == "info"


@pytest.mark.slow  # a benchmark run, seconds long: the quick test run leaves it out
def test_quick_run_writes_a_well_formed_report(tmp_path: Path) -> None:
    """A smoke run succeeds (no failed call); its JSON holds each declared metric once, with
    positive numbers, the target it is measured against, and the verdict its ratio earns
    against that target; the printed table says the same."""
    metrics_declared, targets = declared()
    assert set(targets) == set(metrics_declared)
    out = tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, "bench/run.py", "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(out.read_text())
    assert result["failures"] == []
    assert result["meta"]["quick"] is True
    metrics: Dict[str, Dict[str, Any]] = result["metrics"]
    assert sorted(metrics) == sorted(metrics_declared)
    table = {
        line.split()[0]: line.split()
        for line in proc.stdout.splitlines()
        if line.split() and line.split()[0] in metrics
    }
    for name in metrics_declared:
        row, target = metrics[name], targets[name]
        for key in ("a", "b", "ratio"):
            assert isinstance(row[key], (int, float)) and row[key] > 0, (name, key, row[key])
        assert row["verdict"] == earned(target, row["ratio"]), (name, row["ratio"], target)
        if target is None:
            assert row["target"] == "info", name
        else:
            sign = "<=" if target[2] == "max" else ">="
            assert row["target"].startswith(f"{sign} {target[0]:.2f}x"), (name, row["target"])
        printed = table[name]
        assert printed[-1] == row["verdict"], (name, printed)
        assert f"{row['ratio']:.3f}x" in printed, (name, printed)
    for name in ("cpu_per_call_api_key", "cpu_per_call_refresh"):
        assert metrics[name]["connections"] == {"sdk": 1, "floor": 1}, name


@pytest.mark.slow  # interpreters under valgrind, seconds each
@pytest.mark.skipif(shutil.which("valgrind") is None, reason="needs valgrind")
def test_instruction_counts_print_a_ratio_per_kind() -> None:
    """bench/instructions.py counts both sides and prints one row per kind asked for, with
    the sdk and floor counts and their ratio; the page's sdk side does more than json.loads."""
    proc = subprocess.run(
        [sys.executable, "bench/instructions.py", "--only", "page", "--calls", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = [line.split() for line in proc.stdout.splitlines()[1:]]
    assert [row[0] for row in rows] == ["page"]
    sdk, floor = (float(n.replace(",", "")) for n in rows[0][1:3])
    assert sdk > floor > 0
    assert rows[0][3] == f"{sdk / floor:.3f}x"


def test_instruction_counts_refuse_an_unknown_kind() -> None:
    proc = subprocess.run(
        [sys.executable, "bench/instructions.py", "--only", "pages"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "unknown kind 'pages'; choose from page, auth, get" in proc.stderr
