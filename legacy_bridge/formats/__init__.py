"""Formats by ``kind``: one line per plugin.  A factory takes ``(spec, base_dir)``."""

from legacy_bridge.formats import csv, excel, xml
from legacy_bridge.formats.base import Format
from legacy_bridge.registry import Plugin, Registry

REGISTRY: Registry[Format] = Registry("format", [
    Plugin("csv", csv.CsvSpec, csv.build, "delimited text (csv module)"),
    Plugin("xml", xml.XmlSpec, xml.build, "XML records (lxml iterparse)"),
    Plugin("excel", excel.ExcelSpec, excel.build, "xlsx/xlsm (openpyxl), xls (xlrd)"),
])
