"""Sending one alert message: a Slack/Teams-compatible webhook, an email over SMTP, or a command.

Each sender raises ``AlertDeliveryError`` (what failed, where it was going, what to check);
the URL of a webhook is treated as a secret (it usually is one) and never logged.
"""

from __future__ import annotations

import json
import os
import shlex
import smtplib
import ssl
import subprocess
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage
from typing import Any

from legacy_bridge.errors import BridgeError
from legacy_bridge.observe.redact import redact, register_secret


class AlertDeliveryError(BridgeError):
    """An alert could not be delivered; it is tried again at the next evaluation."""


@dataclass(frozen=True)
class Alert:
    job: str
    flow: str
    kind: str  # failed | rejects | lag
    state: str  # open | recovered
    title: str
    text: str
    run_id: int | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def message(self, mention: str | None = None) -> str:
        head = f"{mention} " if mention else ""
        return redact(f"{head}{self.title}\n{self.text}")

    def as_dict(self) -> dict[str, Any]:
        return json.loads(redact(json.dumps(asdict(self), default=str)))  # type: ignore[no-any-return]


def send_webhook(url: str, alert: Alert, mention: str | None, timeout: float) -> None:
    """POST ``{"text": ...}`` (what Slack and Teams incoming webhooks read) plus the alert as data."""
    register_secret(url)
    body = json.dumps({"text": alert.message(mention), "title": alert.title,
                       "legacy_bridge": alert.as_dict()}).encode()
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json", "User-Agent": "legacy-bridge"})
    where = {"job": alert.job, "flow": alert.flow, "alert": alert.kind}
    hint = "check [alerts] webhook in the job file and that the receiver is reachable from this host"
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        raise AlertDeliveryError(f"the alert webhook answered HTTP {exc.code}", where=where, hint=hint) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise AlertDeliveryError(f"cannot reach the alert webhook: {redact(str(reason))}",
                                 where=where, hint=hint) from None


def send_email(smtp: Any, alert: Alert, mention: str | None) -> None:
    """One email per alert (``smtp`` is the job's ``[alerts.smtp]``)."""
    msg = EmailMessage()
    msg["Subject"] = redact(alert.title)
    msg["From"] = smtp.from_
    msg["To"] = ", ".join(smtp.to)
    msg.set_content(alert.message(mention) + "\n\n" + json.dumps(alert.as_dict(), indent=2))
    where = {"job": alert.job, "flow": alert.flow, "alert": alert.kind, "smtp": f"{smtp.host}:{smtp.port}"}
    if smtp.password:
        register_secret(smtp.password)
    try:
        client: smtplib.SMTP
        if smtp.ssl:
            client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout, context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
        with client:
            if smtp.starttls:
                client.starttls(context=ssl.create_default_context())
            if smtp.username:
                client.login(smtp.username, smtp.password or "")
            client.send_message(msg)
    except smtplib.SMTPAuthenticationError:
        raise AlertDeliveryError("the SMTP server refused the login for alert emails", where=where,
                                 hint="check [alerts.smtp] username and the password reference") from None
    except (TimeoutError, smtplib.SMTPException, OSError) as exc:
        raise AlertDeliveryError(f"cannot send the alert email: {redact(str(exc))}", where=where,
                                 hint="check [alerts.smtp] host, port, starttls/ssl and that the server is up") from None


def run_command(command: str | list[str], alert: Alert, mention: str | None, timeout: float) -> None:
    """Run the command with the alert as JSON on stdin and in ``LB_ALERT_*`` variables."""
    argv = shlex.split(command) if isinstance(command, str) else list(command)
    env = {**os.environ, "LB_ALERT_JOB": alert.job, "LB_ALERT_FLOW": alert.flow, "LB_ALERT_KIND": alert.kind,
           "LB_ALERT_STATE": alert.state, "LB_ALERT_TITLE": redact(alert.title),
           "LB_ALERT_TEXT": alert.message(mention)}
    where = {"job": alert.job, "flow": alert.flow, "alert": alert.kind, "command": argv[0] if argv else ""}
    try:
        proc = subprocess.run(argv, input=json.dumps(alert.as_dict()), env=env, capture_output=True, text=True,
                              timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise AlertDeliveryError(f"cannot run the alert command: {redact(str(exc))}", where=where,
                                 hint="check [alerts] command in the job file") from None
    if proc.returncode != 0:
        tail = redact((proc.stderr or proc.stdout).strip()[-300:])
        raise AlertDeliveryError(f"the alert command exited {proc.returncode}: {tail}", where=where,
                                 hint="run the command by hand to see why") from None


def deliver(spec: Any, alert: Alert) -> list[str]:
    """Send ``alert`` to every channel of the job's ``[alerts]``; return the problems (empty: all sent)."""
    problems: list[str] = []
    channels: list[tuple[str, Any]] = []
    if spec.webhook:
        channels.append(("webhook", lambda: send_webhook(spec.webhook, alert, spec.mention, spec.timeout)))
    if spec.smtp is not None:
        channels.append(("smtp", lambda: send_email(spec.smtp, alert, spec.mention)))
    if spec.command:
        channels.append(("command", lambda: run_command(spec.command, alert, spec.mention, spec.timeout)))
    for _name, send in channels:
        try:
            send()
        except AlertDeliveryError as exc:
            problems.append(str(exc))
    return problems
