"""What scripts/setup-odbc leaves the machine with, as a process that loads the drivers sees it."""

from __future__ import annotations

import glob
import os
import subprocess
import sys
import tempfile

import pytest

from tests.fixtures.odbc import DRIVERS, _driver_registered, _server_up


def test_a_process_reading_through_psqlodbc_leaves_no_log_file_in_tmp():
    # Debian registers psqlODBC with CommLog=1, which leaves /tmp/psqlodbc_<prog>_<user><pid>.log
    # behind every process (a job run every five minutes: 288 files a day); setup-odbc turns it off
    driver = DRIVERS["postgres"]
    if not _driver_registered(driver) or not _server_up(5432):
        if os.environ.get("LEGACY_BRIDGE_REQUIRE_DBS") == "1":
            pytest.fail(f"ODBC driver {driver!r} or PostgreSQL on 127.0.0.1:5432 missing; run scripts/setup")
        pytest.skip("psqlODBC or PostgreSQL not available")
    code = ("import os, pyodbc\n"
            f"c = pyodbc.connect('Driver={{{driver}}};Server=127.0.0.1;Port=5432;Database=test;UID=postgres')\n"
            "assert c.execute('SELECT 41 + 1').fetchone()[0] == 42\n"
            "c.close()\n"
            "print(os.getpid())\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    pid = out.stdout.strip()
    assert pid.isdigit()
    left = sorted({*glob.glob(os.path.join(tempfile.gettempdir(), f"psqlodbc_*{pid}.log")),
                   *glob.glob(f"/tmp/psqlodbc_*{pid}.log")})
    assert not left, f"psqlODBC logged to {left}: CommLog is on in odbcinst.ini (scripts/setup-odbc turns it off)"
