"""Customers and orders from the ERP into the CRM: ``python -m legacy_bridge.jobs.erp_to_crm``.

Same options as ``legacy-bridge run erp_to_crm``: --flow F, --dry-run, --full-refresh,
--once (default), --watch, --wait, and --state / --log-level / --log-format.
"""

from __future__ import annotations

import sys

from legacy_bridge.jobs import main_for

if __name__ == "__main__":
    sys.exit(main_for("erp_to_crm"))
