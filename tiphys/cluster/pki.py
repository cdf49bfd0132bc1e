"""The embedded cluster's certificate authority, serving certificate and bearer tokens.

Generated at first start under the cluster's data directory, reused afterwards: kubectl sends
credentials only over TLS, so the server always serves TLS with a certificate from this CA.
ServiceAccount tokens are HS256 JWTs signed with a key that never leaves the data directory.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["Credentials", "ServiceAccountIdentity", "ensure_credentials"]

SERVER_NAMES = (
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
)


@dataclass(frozen=True)
class ServiceAccountIdentity:
    namespace: str
    name: str
    uid: str


@dataclass(frozen=True)
class Credentials:
    ca_cert: Path
    server_cert: Path
    server_key: Path
    admin_token: str
    signing_key: bytes

    @property
    def ca_pem(self) -> bytes:
        return self.ca_cert.read_bytes()

    def issue_service_account_token(self, identity: ServiceAccountIdentity, *, expires_in: int = 365 * 86400) -> str:
        now = int(dt.datetime.now(dt.UTC).timestamp())
        claims = {
            "iss": "https://kubernetes.default.svc.cluster.local",
            "sub": f"system:serviceaccount:{identity.namespace}:{identity.name}",
            "aud": ["https://kubernetes.default.svc.cluster.local"],
            "iat": now,
            "nbf": now,
            "exp": now + expires_in,
            "kubernetes.io": {
                "namespace": identity.namespace,
                "serviceaccount": {"name": identity.name, "uid": identity.uid},
            },
        }
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signature = _b64(hmac.new(self.signing_key, f"{header}.{payload}".encode(), hashlib.sha256).digest())
        return f"{header}.{payload}.{signature}"

    def verify_service_account_token(self, token: str) -> ServiceAccountIdentity | None:
        parts = token.split(".")
        if len(parts) != 3:
            return None
        expected = _b64(hmac.new(self.signing_key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(expected, parts[2]):
            return None
        try:
            claims = json.loads(_unb64(parts[1]))
            if claims["exp"] < dt.datetime.now(dt.UTC).timestamp():
                return None
            info = claims["kubernetes.io"]
            return ServiceAccountIdentity(
                info["namespace"], info["serviceaccount"]["name"], info["serviceaccount"]["uid"]
            )
        except (ValueError, KeyError, TypeError):
            return None

    def is_admin(self, token: str) -> bool:
        return hmac.compare_digest(token.encode(), self.admin_token.encode())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def ensure_credentials(pki_dir: Path) -> Credentials:
    """Load the CA, serving certificate and tokens, creating whatever is missing."""
    pki_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    ca_cert, ca_key = pki_dir / "ca.crt", pki_dir / "ca.key"
    server_cert, server_key = pki_dir / "server.crt", pki_dir / "server.key"
    token_file, signing_file = pki_dir / "admin.token", pki_dir / "sa-signing.key"
    now = dt.datetime.now(dt.UTC)
    if not (ca_cert.exists() and ca_key.exists()):
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tiphys-ca")])
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(key, hashes.SHA256())
        )
        _write_private(ca_key, _key_pem(key))
        ca_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        server_cert.unlink(missing_ok=True)
    if not (server_cert.exists() and server_key.exists()):
        ca = x509.load_pem_x509_certificate(ca_cert.read_bytes())
        signer = serialization.load_pem_private_key(ca_key.read_bytes(), password=None)
        assert isinstance(signer, ec.EllipticCurvePrivateKey)
        key = ec.generate_private_key(ec.SECP256R1())
        sans: list[x509.GeneralName] = [x509.DNSName(n) for n in SERVER_NAMES]
        sans += [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.IPAddress(ipaddress.ip_address("::1"))]
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tiphys-apiserver")]))
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(signer, hashes.SHA256())
        )
        _write_private(server_key, _key_pem(key))
        server_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    if not token_file.exists():
        _write_private(token_file, secrets.token_urlsafe(32).encode())
    if not signing_file.exists():
        _write_private(signing_file, secrets.token_bytes(32))
    return Credentials(
        ca_cert=ca_cert,
        server_cert=server_cert,
        server_key=server_key,
        admin_token=token_file.read_text().strip(),
        signing_key=signing_file.read_bytes(),
    )
