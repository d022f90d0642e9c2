"""Start and drive a CRM sandbox process (tests, the demo, benchmarks).

    with SandboxProcess(db=tmp / "crm.db", token="t0ken") as crm:
        ... crm.url ...
        crm.set_faults(error_rate=0.2)
        assert crm.objects("contacts")["ALFKI"]["name"] == "Alfreds"
        print(crm.stats())
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

from legacy_bridge.sandbox import procs


class SandboxProcess:
    """The sandbox as a child process on a free 127.0.0.1 port.

    ``args`` are extra command-line switches (``["--rate", "50/1s", "--fault-error-rate", "0.1"]``).
    """

    def __init__(self, db: Path, *, token: str | None = None, client_id: str | None = None,
                 client_secret: str | None = None, args: list[str] | None = None,
                 startup_timeout: float = 15.0, ssl_context: Any = None) -> None:
        self.db = Path(db)
        self.token = token
        self.client_id, self.client_secret = client_id, client_secret
        self._ssl = ssl_context
        cmd = [sys.executable, "-m", "legacy_bridge.sandbox.crm", "--port", "0", "--db", str(self.db)]
        # "--name=value": a value beginning with "-" (secrets.token_urlsafe gives one about once in
        # 64) is otherwise read by argparse as an option, and the sandbox refuses to start
        if token:
            cmd.append(f"--token={token}")
        if client_id:
            cmd += [f"--client-id={client_id}", f"--client-secret={client_secret or ''}"]
        cmd += args or []
        root = str(Path(__file__).resolve().parents[2])
        env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
        self.log_path = self.db.with_name(self.db.name + ".log")  # the server's stderr
        self.db.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._log, text=True, env=env)
        self.url = self._wait_ready(startup_timeout)

    def _wait_ready(self, timeout: float) -> str:
        box: list[str] = []

        def read() -> None:
            assert self.proc.stdout is not None
            box.append(self.proc.stdout.readline())

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(timeout)
        line = box[0].strip() if box else ""
        if not line.startswith("listening on "):
            self.stop()
            err = self.log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"CRM sandbox did not start within {timeout:.0f}s: {line}{err.strip()}")
        return line.removeprefix("listening on ")

    # --- control ---------------------------------------------------------------------

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30, context=self._ssl) as resp:
            return json.loads(resp.read())

    def stats(self) -> dict[str, Any]:
        """Counts per object type, calls per status and fault, repeated upserts (see store.stats)."""
        result: dict[str, Any] = self._call("GET", "/_sandbox/stats")
        return result

    def set_faults(self, **faults: Any) -> dict[str, Any]:
        """Change fault switches at run time (names as in sandbox.faults.Faults)."""
        result: dict[str, Any] = self._call("POST", "/_sandbox/faults", faults)
        return result

    def reset(self) -> None:
        self._call("POST", "/_sandbox/reset", {})

    # --- what it holds (read from the SQLite file) -------------------------------------

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=30)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    def objects(self, object_type: str) -> dict[str, dict[str, Any]]:
        """id property value -> stored properties, for one object type."""
        rows = self._read("SELECT id_value, properties FROM objects WHERE object_type = ?", (object_type,))
        return {str(k): json.loads(v) for k, v in rows}

    def writes(self, object_type: str) -> dict[str, int]:
        """id property value -> how many times it was upserted (above 1: delivered again)."""
        rows = self._read("SELECT id_value, writes FROM objects WHERE object_type = ?", (object_type,))
        return {str(k): int(v) for k, v in rows}

    def archived(self, object_type: str) -> set[str]:
        """id property values of the archived objects of one type."""
        return {str(r[0]) for r in self._read("SELECT id_value FROM archived WHERE object_type = ?", (object_type,))}

    def associations(self, from_type: str, to_type: str) -> set[tuple[str, str]]:
        """(from id property value, to id property value) of every stored association between live objects."""
        rows = self._read(
            "SELECT f.id_value, t.id_value FROM associations a JOIN objects f ON f.hs_id = a.from_id "
            "JOIN objects t ON t.hs_id = a.to_id WHERE a.from_type = ? AND a.to_type = ?", (from_type, to_type))
        return {(str(f), str(t)) for f, t in rows}

    def calls(self) -> list[dict[str, Any]]:
        rows = self._read("SELECT t, method, path, inputs, status, fault, idempotency_key FROM calls ORDER BY id")
        names = ("t", "method", "path", "inputs", "status", "fault", "idempotency_key")
        return [dict(zip(names, r, strict=True)) for r in rows]

    # --- lifetime ----------------------------------------------------------------------

    def stop(self) -> None:
        procs.stop(self.proc)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._log.close()

    def __enter__(self) -> SandboxProcess:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
