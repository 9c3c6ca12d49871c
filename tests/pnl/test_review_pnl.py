"""Hostile-operator review of ``basisctl pnl``: vault-flow CSVs whose cells are missing, non-integer, non-finite,
offset-zoned or misspelt, and damaged journals. Every bad input is one line naming file / row / field (exit 2);
an ISO time with an offset is the same instant as its UTC spelling."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from basisctl.cli.main import app

from .test_attribution import small_journal

T0 = 1_744_156_800_000  # 2025-04-09T00:00:00Z [ms]


def _journal(tmp: Path) -> Path:
    """The hand-checked small journal moved to 2025-04-09 (its events at T0 + 1000..3000 ms)."""
    p = tmp / "j.sqlite"
    small_journal(p, extra_usdc=10.0).close()
    db = sqlite3.connect(p)
    db.execute("UPDATE entries SET ts_ms = ts_ms + ?", (T0,))
    db.execute("UPDATE entries SET payload = json_set(payload, '$.ts_ms', json_extract(payload, '$.ts_ms') + ?) "
               "WHERE json_extract(payload, '$.ts_ms') IS NOT NULL", (T0,))
    db.commit()
    db.close()
    return p


def _pnl(j: Path, *extra: str) -> tuple[int, str, dict | None]:
    r = CliRunner().invoke(app, ["pnl", "--journal", str(j), "--json", *extra])
    doc = json.loads(r.stdout[r.stdout.index("{"):]) if r.exit_code == 0 else None
    return r.exit_code, r.output, doc


def test_flow_time_with_an_offset_is_converted_to_utc(tmp_path: Path) -> None:
    """'00:00:02.7+02:00' is 22:00:02.7Z of the day before, outside the window; the old reader dropped the
    offset (tz_localize(None)) and counted it inside, two hours off."""
    j = _journal(tmp_path)
    f = tmp_path / "f.csv"
    f.write_text("ts,amount_usd\n2025-04-09T02:00:02.700+02:00,10\n")  # = T0 + 2700 ms: inside
    rc, out, doc = _pnl(j, "--flows", str(f))
    assert rc == 0, out
    assert doc is not None and doc["book"]["net_flows_usd"] == 10.0 and abs(doc["book"]["unexplained_usd"]) < 1e-9
    f.write_text("ts,amount_usd\n2025-04-09T00:00:02.700+02:00,10\n")  # = T0 - 2 h + 2.7 s: outside
    rc, out, doc = _pnl(j, "--flows", str(f))
    assert rc == 0 and doc is not None and doc["book"]["net_flows_usd"] == 0.0
    assert "outside the attributed window" in out
    f.write_text("ts,amount_usd\n2025-04-09T00:00:02.700,10\n")  # no offset: UTC
    rc, out, doc = _pnl(j, "--flows", str(f))
    assert rc == 0 and doc is not None and doc["book"]["net_flows_usd"] == 10.0


@pytest.mark.parametrize("body,col", [
    (f"ts,amount_usd\n{T0 + 2700},10\n,5\n", "'ts'"),  # a missing time was -9223372036855 ms (NaT), dropped
    (f"ts,amount_usd\n{T0 + 2700}.0,10\n", "'ts'"),  # a float ms was read as NANOseconds (1970), dropped
    (f"ts,amount_usd\n{T0 + 2700},inf\n", "'amount_usd'"),  # +inf USD was accepted
    (f"ts,amount_usd\n{T0 + 2700},nan\n", "'amount_usd'"),
    (f"ts,amount_usd,account\n{T0 + 2700},10,prep\n", "'account'"),  # a misspelt account became spot
    ("ts,amount_usd\nyesterday,10\n", "'ts'"),
])
def test_bad_flow_cells_are_one_line_naming_row_and_column(tmp_path: Path, body: str, col: str) -> None:
    j = _journal(tmp_path)
    f = tmp_path / "f.csv"
    f.write_text(body)
    rc, out, _ = _pnl(j, "--flows", str(f))
    assert rc == 2 and "Traceback" not in out
    line = out.strip().splitlines()[-1]
    assert str(f) in line and "row " in line and col in line, out


def _damage(j: Path, sql: str) -> None:
    db = sqlite3.connect(j)
    db.execute(sql)
    db.commit()
    db.close()


@pytest.mark.parametrize("sql,needle", [
    ("UPDATE entries SET payload = '{oops' WHERE key = 'fill:1'", "payload is not a JSON object"),
    ("UPDATE entries SET payload = '[1, 2]' WHERE key = 'fill:2'", "payload is not a JSON object"),
    ("UPDATE entries SET payload = json_set(payload, '$.fee_usd', 'abc') WHERE key = 'fill:1'", "fee_usd"),
    ("UPDATE entries SET payload = json_set(payload, '$.amount_usd', 'x') WHERE key = 'funding:1'", "amount_usd"),
])
def test_a_damaged_journal_row_is_one_line_naming_file_and_row(tmp_path: Path, sql: str, needle: str) -> None:
    """Each of these was a traceback (JSONDecodeError, AttributeError, ValueError)."""
    j = _journal(tmp_path)
    _damage(j, sql)
    rc, out, _ = _pnl(j)
    assert rc == 2 and "Traceback" not in out, out
    line = out.strip().splitlines()[-1]
    assert str(j) in line and needle in line and "seq" in line, out


def test_a_foreign_entries_table_is_refused_in_one_line(tmp_path: Path) -> None:
    """A SQLite file with a table named 'entries' of another shape was a traceback ('no such column: seq')."""
    j = tmp_path / "other.sqlite"
    db = sqlite3.connect(j)
    db.execute("CREATE TABLE entries(x)")
    db.commit()
    db.close()
    rc, out, _ = _pnl(j)
    assert rc == 2 and "Traceback" not in out and str(j) in out and "not a readable basisctl journal" in out


def test_out_into_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    """pandas raised a bare OSError ('Cannot save file into a non-existent directory'): a traceback."""
    j = _journal(tmp_path)
    r = CliRunner().invoke(app, ["pnl", "--journal", str(j), "--out", str(tmp_path / "nope" / "x.csv")])
    assert r.exit_code == 2 and "Traceback" not in r.output and "does not exist" in r.output, r.output
    (tmp_path / "d.csv").mkdir()
    r = CliRunner().invoke(app, ["pnl", "--journal", str(j), "--out", str(tmp_path / "d.csv")])
    assert r.exit_code == 2 and "is a folder" in r.output, r.output
