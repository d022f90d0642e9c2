#!/usr/bin/env python3
"""Build the demo ERP and drop folder in fixtures/ from the Northwind sample in ../shared/realworld.

The result is committed, so a fresh clone runs the demo without ../shared; run this
again only to rebuild it (it is deterministic: same input, same bytes).

    python scripts/build_fixtures.py [--northwind PATH]
"""

from __future__ import annotations

import argparse
import csv
import sqlite3
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_NORTHWIND = ROOT.parent / "shared" / "realworld" / "northwind" / "northwind.sqlite"
EPOCH = datetime(2019, 1, 7, 8, 0, 0)


def build_erp(src: sqlite3.Connection, out: Path) -> None:
    """fixtures/erp.sqlite: Customers, Orders, Order Details, Products, Shippers, with the change
    columns a legacy ERP typically has (and their usual flaws: LastChanged NULL until a first update,
    many rows sharing one timestamp from a nightly batch)."""
    out.unlink(missing_ok=True)
    dst = sqlite3.connect(out)
    dst.executescript("""
        CREATE TABLE Customers (
            CustomerID TEXT PRIMARY KEY, CompanyName TEXT NOT NULL, ContactName TEXT, ContactTitle TEXT,
            Address TEXT, City TEXT, Region TEXT, PostalCode TEXT, Country TEXT, Phone TEXT, Fax TEXT,
            Created TEXT NOT NULL, LastChanged TEXT);
        CREATE TABLE Orders (
            OrderID INTEGER PRIMARY KEY, CustomerID TEXT, EmployeeID INTEGER, OrderDate TEXT, RequiredDate TEXT,
            ShippedDate TEXT, ShipVia INTEGER, Freight NUMERIC, ShipName TEXT, ShipAddress TEXT, ShipCity TEXT,
            ShipRegion TEXT, ShipPostalCode TEXT, ShipCountry TEXT, LastChanged TEXT NOT NULL);
        CREATE TABLE "Order Details" (OrderID INTEGER, ProductID INTEGER, UnitPrice NUMERIC, Quantity INTEGER,
            Discount REAL, PRIMARY KEY (OrderID, ProductID));
        CREATE TABLE Products (ProductID INTEGER PRIMARY KEY, ProductName TEXT, SupplierID INTEGER,
            CategoryID INTEGER, QuantityPerUnit TEXT, UnitPrice NUMERIC, UnitsInStock INTEGER,
            UnitsOnOrder INTEGER, ReorderLevel INTEGER, Discontinued TEXT);
        CREATE TABLE Shippers (ShipperID INTEGER PRIMARY KEY, CompanyName TEXT, Phone TEXT);
    """)
    customers = src.execute("SELECT CustomerID, CompanyName, ContactName, ContactTitle, Address, City, Region, "
                            "PostalCode, Country, Phone, Fax FROM Customers ORDER BY CustomerID").fetchall()
    rows = []
    for i, c in enumerate(customers):
        created = EPOCH + timedelta(days=i * 3)
        # a third never changed since insert (NULL), the rest changed in three nightly batches (ties)
        changed = None if i % 3 == 0 else (EPOCH + timedelta(days=300 + (i % 3) * 7)).replace(hour=2)
        rows.append((*c, created.isoformat(sep=" "), changed.isoformat(sep=" ") if changed else None))
    dst.executemany(f"INSERT INTO Customers VALUES ({','.join('?' * 13)})", rows)
    orders = src.execute("SELECT OrderID, CustomerID, EmployeeID, OrderDate, RequiredDate, ShippedDate, ShipVia, "
                         "Freight, ShipName, ShipAddress, ShipCity, ShipRegion, ShipPostalCode, ShipCountry "
                         "FROM Orders ORDER BY OrderID").fetchall()
    dst.executemany(f"INSERT INTO Orders VALUES ({','.join('?' * 15)})",
                    [(*o, (o[3] or "2016-01-01") + " 23:00:00") for o in orders])
    dst.executemany('INSERT INTO "Order Details" VALUES (?,?,?,?,?)',
                    src.execute('SELECT OrderID, ProductID, UnitPrice, Quantity, Discount FROM "Order Details"'))
    dst.executemany("INSERT INTO Products VALUES (?,?,?,?,?,?,?,?,?,?)",
                    src.execute("SELECT ProductID, ProductName, SupplierID, CategoryID, QuantityPerUnit, UnitPrice, "
                                "UnitsInStock, UnitsOnOrder, ReorderLevel, Discontinued FROM Products"))
    dst.executemany("INSERT INTO Shippers VALUES (?,?,?)", src.execute("SELECT ShipperID, CompanyName, Phone FROM Shippers"))
    dst.commit()
    dst.execute("VACUUM")
    dst.close()


def _dmy(value: str | None) -> str:
    return date.fromisoformat(value[:10]).strftime("%d/%m/%Y") if value else ""


def _comma(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}".replace(".", ",")


def build_drop(src: sqlite3.Connection, folder: Path) -> None:
    """fixtures/drop/orders/ORDERS_<year>.csv the way an old ERP exports them: cp1252, ';',
    a banner line, DD/MM/YYYY dates, decimal commas, CRLF."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("ORDERS_*.csv"):
        old.unlink()
    header = ["ORDER_NO", "CUSTNO", "ORDER_DATE", "REQ_DATE", "SHIP_DATE", "SHIP_VIA", "FREIGHT",
              "SHIP_NAME", "SHIP_CITY", "SHIP_COUNTRY", "AMOUNT"]
    amounts = dict(src.execute('SELECT OrderID, SUM(UnitPrice * Quantity * (1 - Discount)) FROM "Order Details" GROUP BY OrderID'))
    by_year: dict[str, list[list[str]]] = {}
    for o in src.execute("SELECT OrderID, CustomerID, OrderDate, RequiredDate, ShippedDate, ShipVia, Freight, "
                         "ShipName, ShipCity, ShipCountry FROM Orders ORDER BY OrderID"):
        by_year.setdefault(o[2][:4], []).append(
            [str(o[0]), o[1], _dmy(o[2]), _dmy(o[3]), _dmy(o[4]), str(o[5]), _comma(o[6]), o[7], o[8], o[9],
             _comma(amounts.get(o[0]))])
    for year, rows in sorted(by_year.items()):
        with open(folder / f"ORDERS_{year}.csv", "w", encoding="cp1252", newline="") as fh:
            fh.write(f"ERP EXPORT ORDERS {year} - SITE 01\r\n")
            writer = csv.writer(fh, delimiter=";", lineterminator="\r\n")
            writer.writerow(header)
            writer.writerows(rows)


def build_prices(src: sqlite3.Connection, folder: Path) -> None:
    """fixtures/drop/prices/PRICES.xlsx: the price list purchasing keeps in Excel, with a title
    row above the header, prices as numbers and a 'valid from' date column."""
    from openpyxl import Workbook

    folder.mkdir(parents=True, exist_ok=True)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Prices"
    ws.append(["Price list - purchasing department"])
    ws.append(["SKU", "Product", "Unit", "List price", "Valid from", "Discontinued"])
    for i, p in enumerate(src.execute("SELECT ProductID, ProductName, QuantityPerUnit, UnitPrice, Discontinued "
                                      "FROM Products ORDER BY ProductID")):
        ws.append([f"P{p[0]:04d}", p[1], p[2], float(p[3]), datetime(2024, 1, 1) + timedelta(days=i % 28),
                   "X" if str(p[4]) == "1" else None])
    wb.properties.created = datetime(2024, 1, 1)
    wb.properties.modified = datetime(2024, 1, 1)
    wb.save(folder / "PRICES.xlsx")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--northwind", type=Path, default=DEFAULT_NORTHWIND)
    args = parser.parse_args()
    src = sqlite3.connect(f"file:{args.northwind}?mode=ro", uri=True)
    build_erp(src, ROOT / "fixtures" / "erp.sqlite")
    build_drop(src, ROOT / "fixtures" / "drop" / "orders")
    build_prices(src, ROOT / "fixtures" / "drop" / "prices")
    print("built fixtures/erp.sqlite, fixtures/drop/orders/ and fixtures/drop/prices/")


if __name__ == "__main__":
    main()
