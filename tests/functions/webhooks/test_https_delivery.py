"""A delivery over real TLS connects to the address that was checked, while the
certificate is still verified against the URL's host name (sent as SNI and ``Host``)."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from corral.webhooks import verify
from corral.webhooks.delivery import DeliverySettings, WebhookDeliveryError, deliver

from tests.support.receiver import Receiver

HOST = "hooks.test"
SECRET = "whsec_tls"


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", f"/CN={HOST}",
         "-addext", f"subjectAltName=DNS:{HOST}"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def tls_receiver(certificate: tuple[Path, Path]) -> Iterator[Receiver]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    receiver = Receiver(tls=context).start()
    yield receiver
    receiver.stop()


def send(receiver: Receiver, trust: ssl.SSLContext, name: str) -> dict[str, object]:
    port = receiver.url.rsplit(":", 1)[1].split("/")[0]
    with httpx.Client(verify=trust, follow_redirects=False) as http:
        settings = DeliverySettings(
            secret_of=lambda tenant: SECRET,
            local=True,  # the checked address is this machine's
            http=http,
            resolve=lambda host, port: ["127.0.0.1"],
        )
        return deliver(
            tenant="acme",
            url=f"https://{name}:{port}/hook",
            delivery_id="whd-tls",
            event="Job Completed",
            at_ms=1_800_000_000_000,
            detail={"jobId": "j1"},
            settings=settings,
        )


def test_tls_is_verified_against_the_url_host_while_connecting_to_the_checked_address(
    tls_receiver: Receiver, certificate: tuple[Path, Path]
) -> None:
    trust = ssl.create_default_context(cafile=str(certificate[0]))

    assert send(tls_receiver, trust, HOST) == {"status": 200, "deliveryId": "whd-tls"}

    (received,) = tls_receiver.requests
    assert received.headers["Host"].startswith(f"{HOST}:")
    verify(SECRET, received.body, received.headers, now=1_800_000_000 + 5, tolerance_s=10**9)


def test_a_certificate_for_another_name_is_refused(
    tls_receiver: Receiver, certificate: tuple[Path, Path]
) -> None:
    trust = ssl.create_default_context(cafile=str(certificate[0]))
    with pytest.raises(WebhookDeliveryError, match=r"(?i)certificate|hostname"):
        send(tls_receiver, trust, "other.test")
    assert tls_receiver.requests == []
