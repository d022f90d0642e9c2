"""A job hook as a team would write one, used by the mapping tests through "py:..."."""

from __future__ import annotations


def vat(value: str) -> str:
    """Accept an EU VAT number of at least 10 characters."""
    if len(value) < 10:
        raise ValueError("is not a VAT number (too short)")
    return value.upper()
