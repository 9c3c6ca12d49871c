"""The HTML report renders offline on a small subset with every section and embedded images."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from basisctl.cli.main import app


def test_report_quick_subset(tmp_path) -> None:
    res = CliRunner().invoke(app, ["report", "--out", str(tmp_path), "--assets", "BTC", "--quick"])
    assert res.exit_code == 0, res.output
    doc = (tmp_path / "index.html").read_text()
    for section in ("id='backtest'", "id='static'", "id='bands'", "id='funding'", "Table X shape",
                    "Table XI shape", "Table IX shape", "Table VII shape", "Findings on this data"):
        assert section in doc, section
    imgs = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', doc)
    assert len(imgs) >= 8 and all(len(i) > 2000 for i in imgs)
    # offline / self-contained: nothing is fetched
    assert not re.search(r'(src|href)="https?://', doc)
    # captions carry the regenerating command
    assert "basisctl backtest --asset ASSET" in doc and "basisctl static-grid --venues" in doc
    assert "basisctl funding-stats" in doc
    # the BTC rows of both funding environments are in Table X
    assert doc.count("Binance funding") >= 1 and doc.count("Hyperliquid funding") >= 1
