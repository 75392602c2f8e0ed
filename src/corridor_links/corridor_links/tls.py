"""Certificates for the broker's TLS option: a private CA, a server cert, optional client certs.

The CA exists only for one deployment (or one test run): :func:`make_tls_files` writes, into one
folder, ``ca.key``/``ca.crt``, a server pair ``server.key``/``server.crt`` valid for
``localhost`` and ``127.0.0.1`` (the broker listens on loopback) and, on request, one pair per
client name (``client-<name>.key``/``.crt``). Keys are EC P-256, PEM, unencrypted, mode 0600.

The ``cryptography`` package is used when it imports; otherwise the ``openssl`` command line.
Both produce the same files with the same extensions (CA basic constraints and key usage;
server and client extended key usage; subject and authority key identifiers).

Example:
    >>> files = make_tls_files(Path("run/tls"), clients=["T01"])  # doctest: +SKIP
    >>> client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)  # doctest: +SKIP
    >>> configure_client_tls(client, files.ca_cert, files.clients["T01"])  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import secrets
import shutil
import ssl
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import paho.mqtt.client as mqtt

from corridor_core.errors import CorridorError

Backend = Literal["auto", "cryptography", "openssl"]

SERVER_NAMES = ("localhost",)
SERVER_IPS = ("127.0.0.1",)


class TlsError(CorridorError):
    """Certificates could not be made, or a client could not be set up for TLS."""


@dataclass(frozen=True)
class CertPair:
    """A PEM certificate and its private key."""

    cert: Path
    key: Path


@dataclass(frozen=True)
class TlsFiles:
    """What :func:`make_tls_files` wrote.

    Attributes:
        folder: where every file lives.
        ca_cert: the CA certificate: clients trust it (``tls_set(ca_certs=...)``), and the broker
            checks client certificates against it.
        ca_key: the CA's private key; only needed to sign more certificates.
        server: the broker's certificate (SAN ``localhost``, ``127.0.0.1``) and key.
        clients: client name -> certificate (CN = name) and key.
    """

    folder: Path
    ca_cert: Path
    ca_key: Path
    server: CertPair
    clients: dict[str, CertPair] = field(default_factory=dict)


def cryptography_available() -> bool:
    """True if the ``cryptography`` package imports in this interpreter."""
    try:
        import cryptography.x509  # noqa: F401
    except ImportError:
        return False
    return True


def make_tls_files(
    folder: Path,
    clients: Sequence[str] = (),
    *,
    valid_days: int = 365,
    backend: Backend = "auto",
) -> TlsFiles:
    """Create a CA, a server certificate for loopback and one certificate per client.

    Args:
        folder: created if missing; files of the same names are overwritten.
        clients: client names (user names); each becomes a certificate with CN = name.
        valid_days: validity of every certificate from now (starts 5 min in the past to
            tolerate clock skew between processes).
        backend: ``"auto"`` uses ``cryptography`` if it imports, else ``openssl``.

    Returns:
        The paths written.

    Raises:
        TlsError: a client name is unusable, or neither backend is available or one failed.
    """
    for name in clients:
        if not name or not all(c.isalnum() or c in "-_." for c in name):
            raise TlsError(f"client name {name!r} must be non-empty [A-Za-z0-9._-]")
    if valid_days < 1:
        raise TlsError(f"valid_days must be >= 1, got {valid_days}")
    folder.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(
        folder=folder,
        ca_cert=folder / "ca.crt",
        ca_key=folder / "ca.key",
        server=CertPair(folder / "server.crt", folder / "server.key"),
        clients={
            name: CertPair(folder / f"client-{name}.crt", folder / f"client-{name}.key")
            for name in clients
        },
    )
    chosen = backend
    if chosen == "auto":
        chosen = "cryptography" if cryptography_available() else "openssl"
    if chosen == "cryptography":
        _make_with_cryptography(files, valid_days)
    else:
        _make_with_openssl(files, valid_days)
    return files


def configure_client_tls(
    client: mqtt.Client, ca_cert: Path, client_cert: CertPair | None = None
) -> None:
    """Make a paho client use TLS >= 1.2, trust ``ca_cert`` and check the broker's host name.

    Args:
        client: not yet connected.
        ca_cert: the CA that signed the broker's certificate.
        client_cert: presented to a broker that requires client certificates.

    Raises:
        TlsError: a file is missing or unreadable.
    """
    for path in (ca_cert, *((client_cert.cert, client_cert.key) if client_cert else ())):
        if not path.is_file():
            raise TlsError(f"TLS file {path} does not exist")
    try:
        # The default client context checks the chain and the host name (IP SAN for 127.0.0.1).
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca_cert))
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if client_cert is not None:
            context.load_cert_chain(str(client_cert.cert), str(client_cert.key))
    except (OSError, ValueError) as exc:
        raise TlsError(f"cannot set up TLS with CA {ca_cert}: {exc}") from exc
    client.tls_set_context(context)


def _write_private(path: Path, data: bytes) -> None:
    # Create with 0600 from the start: the key is never readable by others, not even briefly.
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def _make_with_cryptography(files: TlsFiles, valid_days: int) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.UTC)
    not_before, not_after = now - dt.timedelta(minutes=5), now + dt.timedelta(days=valid_days)

    def name(common_name: str) -> x509.Name:
        return x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Corridor"),
                x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            ]
        )

    def save_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        _write_private(path, pem)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = name("Corridor private CA")
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    save_key(ca_key, files.ca_key)
    files.ca_cert.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))

    def leaf(common_name: str, pair: CertPair, server: bool) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(name(common_name))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), False
            )
        )
        if server:
            sans: list[x509.GeneralName] = [x509.DNSName(n) for n in SERVER_NAMES]
            sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in SERVER_IPS]
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = builder.sign(ca_key, hashes.SHA256())
        save_key(key, pair.key)
        pair.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))

    leaf(SERVER_NAMES[0], files.server, server=True)
    for client_name, pair in sorted(files.clients.items()):
        leaf(client_name, pair, server=False)


def _make_with_openssl(files: TlsFiles, valid_days: int) -> None:
    tool = shutil.which("openssl")
    if tool is None:
        raise TlsError("neither the cryptography package nor the openssl command is available")
    days = str(valid_days)
    newkey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def run(*args: str) -> None:
        done = subprocess.run([tool, *args], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise TlsError(f"openssl {args[0]} failed: {done.stderr.strip()}")

    def fresh(path: Path) -> str:
        # openssl writes keys with the umask: remove any old file, then tighten right after.
        path.unlink(missing_ok=True)
        return str(path)

    old_umask = os.umask(0o077)
    try:
        run(
            "req", "-x509", "-new", *newkey, "-sha256", "-days", days,
            "-keyout", fresh(files.ca_key), "-out", str(files.ca_cert),
            "-subj", "/O=Corridor/CN=Corridor private CA",
            "-addext", "basicConstraints=critical,CA:TRUE,pathlen:0",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-addext", "subjectKeyIdentifier=hash",
        )  # fmt: skip
        leaves = [(SERVER_NAMES[0], files.server, True)]
        leaves += [(n, p, False) for n, p in sorted(files.clients.items())]
        with tempfile.TemporaryDirectory(prefix="corridor-tls-") as tmp:
            for common_name, pair, server in leaves:
                csr = Path(tmp) / f"{common_name}.csr"
                ext = Path(tmp) / f"{common_name}.ext"
                lines = [
                    "basicConstraints=critical,CA:FALSE",
                    "keyUsage=critical,digitalSignature",
                    f"extendedKeyUsage={'serverAuth' if server else 'clientAuth'}",
                    "subjectKeyIdentifier=hash",
                    "authorityKeyIdentifier=keyid",
                ]
                if server:
                    sans = [f"DNS:{n}" for n in SERVER_NAMES] + [f"IP:{ip}" for ip in SERVER_IPS]
                    lines.append("subjectAltName=" + ",".join(sans))
                ext.write_text("\n".join(lines) + "\n")
                run(
                    "req", "-new", *newkey, "-keyout", fresh(pair.key), "-out", str(csr),
                    "-subj", f"/O=Corridor/CN={common_name}",
                )  # fmt: skip
                run(
                    "x509", "-req", "-in", str(csr), "-CA", str(files.ca_cert),
                    "-CAkey", str(files.ca_key), "-set_serial", str(secrets.randbits(63)),
                    "-sha256", "-days", days, "-extfile", str(ext), "-out", str(pair.cert),
                )  # fmt: skip
    finally:
        os.umask(old_umask)
    for path in (files.ca_key, files.server.key, *(p.key for p in files.clients.values())):
        path.chmod(0o600)
    for path in (files.ca_cert, files.server.cert, *(p.cert for p in files.clients.values())):
        path.chmod(0o644)
