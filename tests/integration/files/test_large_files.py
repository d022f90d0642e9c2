"""Generated large drops go through whole, in order, with bounded batches (slow)."""

from __future__ import annotations

from pathlib import Path

import pytest

from legacy_bridge.records import Counts
from legacy_bridge.state import open_store
from tests.integration.files.helpers import make_ctx, make_source

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(("kind", "n"), [("csv", 1_000_000), ("xml", 500_000)])
def test_a_large_file_is_delivered_completely_in_order(tmp_path: Path, kind: str, n: int) -> None:
    (tmp_path / "drop").mkdir()
    if kind == "csv":
        with open(tmp_path / "drop" / "big.csv", "w") as f:
            f.write("id;name;amount\n")
            f.writelines(f"{i};Customer {i};{i * 1.5:.2f}\n" for i in range(n))
        fmt = {"kind": "csv", "delimiter": ";"}
    else:
        with open(tmp_path / "drop" / "big.xml", "w") as f:
            f.write("<orders>")
            f.writelines(f"<order id='{i}'><name>Customer {i}</name></order>\n" for i in range(n))
            f.write("</orders>")
        fmt = {"kind": "xml", "record": "order"}
    store = open_store(str(tmp_path / "state.db"))
    ctx = make_ctx(store, tmp_path, batch_size=5000)
    expected = 0
    for batch in make_source(tmp_path, format=fmt).batches(ctx):
        assert len(batch.rows) <= 5000
        for row in batch.rows:
            assert int(row["id"] if kind == "csv" else row["@id"]) == expected
            expected += 1
        store.commit_batch(run_id=ctx.run_id, job=ctx.job, flow=ctx.flow, checkpoint=batch.checkpoint,
                           rejects=[], counts=Counts())
    assert expected == n
    assert store.list_files("job", "flow")[0].status == "done"
    store.close()
