"""benchmarks/report_speed.py end to end in its smoke form: a real `unimeec report` process."""

from __future__ import annotations

import json


def test_report_speed_smoke_writes_a_row(bench_dir, shared_data, tmp_path, capsys):
    import report_speed

    out = tmp_path / "report-speed.json"
    assert (
        report_speed.main(
            ["--smoke", "--bootstrap", "20", "--data-dir", str(shared_data), "--out", str(out)]
        )
        == 0
    )
    (row,) = json.loads(out.read_text())
    assert row["name"] == "unimeec-report" and row["metrics"]["conversations"] == 40
    assert 0 < row["metrics"]["cpu_s_median"] and 0 < row["metrics"]["wall_s_median"]
    assert row["settings"]["repeats"] == 1 and len(row["settings"]["wall_s"]) == 1
    assert "run 1: 40 conversations in " in capsys.readouterr().out
