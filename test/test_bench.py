"""The benchmark runs end to end: ``bench/run.py --quick`` exits 0 and writes every metric."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

METRICS = (
    "cpu_per_call_api_key",
    "wall_per_call_api_key",
    "cpu_per_call_refresh",
    "wall_per_call_refresh",
    "import_time",
    "import_time_wall",
    "offline_serialize",
    "offline_parse",
    "offline_round_trip",
    "peak_rss",
    "per_call_growth_sdk",
    "per_call_growth_floor",
    "threads_throughput",
    "threads_cpu_per_call",
)


def test_quick_run_writes_every_metric(tmp_path: Path) -> None:
    """A smoke run succeeds (no failed call) and its JSON holds a value and ratio per metric.

    Only that the numbers exist is asserted: timings are not tested here.
    """
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
    metrics = result["metrics"]
    assert sorted(metrics) == sorted(METRICS)
    for name in METRICS:
        row = metrics[name]
        for key in ("a", "b", "ratio"):
            assert isinstance(row[key], (int, float)) and row[key] > 0, (name, key, row[key])
        assert row["verdict"] in ("ok", "tolerated", "OVER", "UNDER", "info"), (name, row)
    for name in ("cpu_per_call_api_key", "cpu_per_call_refresh"):
        assert metrics[name]["connections"] == {"sdk": 1, "floor": 1}, name
    for name in METRICS:
        assert name in proc.stdout, f"{name} missing from the printed table"
