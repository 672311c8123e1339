"""A private redis-server with TLS only and ACL users, on a port of 7400-7420.

Certificates are made here with ``cryptography``: a CA, a server certificate for
127.0.0.1 signed by it, and a second CA nobody trusts. The default user is off, so
every connection must authenticate as a named user.
"""

from __future__ import annotations

import datetime
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path

import redis
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HOST = "127.0.0.1"
PORTS = range(7400, 7421)
ADMIN = "sec-admin"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
    *,
    ca: bool,
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    issuer_name, issuer_key = issuer or (_name(subject), key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        usage = x509.KeyUsage(False, False, False, False, False, True, True, False, False)
        builder = builder.add_extension(usage, critical=True)
    else:
        names = [x509.IPAddress(IPv4Address(HOST)), x509.DNSName("localhost")]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _write_cert(cert: x509.Certificate, path: Path) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def make_certificates(folder: Path) -> tuple[Path, Path, Path, Path]:
    """(ca, server cert, server key, untrusted ca) files in ``folder``."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = _certificate("corral test CA", ca_key, None, ca=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = _certificate("localhost", server_key, (ca_cert.subject, ca_key), ca=False)
    rogue_key = ec.generate_private_key(ec.SECP256R1())
    rogue_cert = _certificate("someone else's CA", rogue_key, None, ca=True)
    paths = (folder / "ca.pem", folder / "server.pem", folder / "server.key", folder / "rogue.pem")
    _write_cert(ca_cert, paths[0])
    _write_cert(server_cert, paths[1])
    _write_key(server_key, paths[2])
    _write_cert(rogue_cert, paths[3])
    return paths


def _free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


@dataclass
class TlsRedis:
    """A running TLS-only server and what a client needs to reach it."""

    port: int
    ca: Path
    rogue_ca: Path
    admin_password: str
    process: subprocess.Popen[bytes]

    def url(self, user: str = "", password: str = "", *, ca: Path | None = None) -> str:
        auth = f"{user}:{password}@" if user or password else ""
        return f"rediss://{auth}{HOST}:{self.port}/0?ssl_ca_certs={ca or self.ca}"

    def admin(self) -> redis.Redis:
        return redis.Redis.from_url(
            self.url(ADMIN, self.admin_password), decode_responses=True, socket_timeout=5
        )

    def add_user(self, user: str, password: str) -> None:
        """An ACL user with that password and every command (as an app user has)."""
        client = self.admin()
        try:
            client.acl_setuser(
                user,
                enabled=True,
                reset_passwords=True,
                passwords=[f"+{password}"],
                keys=["*"],
                channels=["*"],
                commands=["+@all"],
            )
        finally:
            client.close()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_tls_redis(folder: Path) -> TlsRedis:
    """Start the server on the first free port of ``PORTS`` and wait until it answers."""
    if shutil.which("redis-server") is None:
        raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
    ca, cert, key, rogue = make_certificates(folder)
    port = next((p for p in PORTS if _free(p)), None)
    if port is None:
        raise RuntimeError(f"no free port in {PORTS.start}-{PORTS.stop - 1}")
    password = secrets.token_urlsafe(24)
    config = folder / "redis.conf"
    config.write_text(
        "\n".join(
            [
                "port 0",
                f"tls-port {port}",
                f"bind {HOST}",
                f"tls-cert-file {cert}",
                f"tls-key-file {key}",
                f"tls-ca-cert-file {ca}",
                "tls-auth-clients no",
                'save ""',
                "appendonly no",
                f"dir {folder}",
                "user default off",
                f"user {ADMIN} on >{password} ~* &* +@all",
                "",
            ]
        )
    )
    with (folder / "server.log").open("wb") as log:
        process = subprocess.Popen(
            ["redis-server", str(config)], stdout=log, stderr=subprocess.STDOUT
        )
    server = TlsRedis(port, ca, rogue, password, process)
    deadline = time.monotonic() + 20
    while True:
        client = server.admin()
        try:
            if client.ping():
                return server
        except (redis.ConnectionError, OSError):
            if time.monotonic() > deadline or process.poll() is not None:
                server.stop()
                raise RuntimeError(f"redis-server with TLS did not start; see {folder}") from None
            time.sleep(0.05)
        finally:
            client.close()
