"""The local transport keeps every name inside its folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from legacy_bridge.errors import TransportError
from legacy_bridge.transports.local import LocalTransport
from legacy_bridge.transports.paths import clean_name, stamped


@pytest.mark.parametrize("name", ["../x.csv", "/etc/passwd", "a/../../x.csv", "", "a\x00b", "C:\\x.csv", "..\\x"])
def test_escaping_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(TransportError):
        LocalTransport(tmp_path).open(name)


def test_symlinks_pointing_outside_are_refused_and_not_listed(tmp_path: Path) -> None:
    root = tmp_path / "drop"
    root.mkdir()
    (tmp_path / "secret.csv").write_text("s")
    os.symlink(tmp_path / "secret.csv", root / "link.csv")
    (root / "ok.csv").write_text("x")
    t = LocalTransport(root)
    assert [f.name for f in t.list(["*.csv"])] == ["ok.csv"]
    with pytest.raises(TransportError, match="outside"):
        t.open("link.csv")


def test_moves_never_overwrite(tmp_path: Path) -> None:
    t = LocalTransport(tmp_path)
    (tmp_path / "a.csv").write_text("1")
    assert t.move("a.csv", "archive") == "archive/a.csv"
    (tmp_path / "a.csv").write_text("2")
    second = t.move("a.csv", "archive")
    assert second.startswith("archive/a.") and second.endswith(".csv") and second != "archive/a.csv"
    assert (tmp_path / second).read_text() == "2" and (tmp_path / "archive/a.csv").read_text() == "1"


def test_recursive_listing_and_patterns(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "ORDERS_1.csv").write_text("x")
    (tmp_path / "ORDERS_2.csv").write_text("x")
    (tmp_path / "other.txt").write_text("x")
    t = LocalTransport(tmp_path)
    assert [f.name for f in t.list(["ORDERS_*.csv"])] == ["ORDERS_2.csv"]
    assert sorted(f.name for f in t.list(["ORDERS_*.csv"], recursive=True)) == ["ORDERS_2.csv", "sub/ORDERS_1.csv"]


def test_name_helpers() -> None:
    assert clean_name("./a//b.csv", "/r") == "a/b.csv"
    assert stamped("x.csv", 0) == "x.19700101T000000Z.csv"
    assert stamped("README", 0) == "README.19700101T000000Z"
