"""TLS to API targets: a self-signed server is refused by default, trusted with ca_bundle."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from pathlib import Path
from typing import Any

import pytest

from legacy_bridge.errors import TargetError
from tests.fixtures.sandbox import SANDBOX_TOKEN, build_target, northwind_orders


def self_signed(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "crm-sandbox.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "server.pem", folder / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture
def tls_sandbox(sandbox_factory: Any, tmp_path: Path) -> tuple[Any, Path]:
    cert, key = self_signed(tmp_path)
    trust = ssl.create_default_context(cafile=str(cert))
    crm = sandbox_factory(args=["--tls-cert", str(cert), "--tls-key", str(key)], ssl_context=trust)
    assert crm.url.startswith("https://127.0.0.1:")
    return crm, cert


def spec(url: str, **extra: Any) -> dict[str, Any]:
    return {"kind": "hubspot", "base_url": url, "object": "contacts", "id_property": "erp_id",
            "auth": {"type": "bearer", "token": SANDBOX_TOKEN}, "max_attempts": 2, "backoff_base": "10ms", **extra}


def test_self_signed_server_is_refused_by_default(tls_sandbox: tuple[Any, Path], tmp_path: Path) -> None:
    crm, _ = tls_sandbox
    target = build_target(spec(crm.url), tmp_path)
    with pytest.raises(TargetError) as err:
        target.send(northwind_orders(5))
    text = str(err.value)
    assert "TLS connection to 127.0.0.1" in text and "certificate verify failed" in text
    assert "ca_bundle" in text
    assert crm.objects("contacts") == {}


def test_self_signed_server_is_trusted_with_its_ca_bundle(tls_sandbox: tuple[Any, Path], tmp_path: Path) -> None:
    crm, cert = tls_sandbox
    target = build_target(spec(crm.url, ca_bundle=str(cert)), tmp_path)
    delivery = target.send(northwind_orders(5))
    assert delivery.sent == 5 and len(crm.objects("contacts")) == 5
    assert crm.stats()["calls_by_status"] == {"200": 1}
