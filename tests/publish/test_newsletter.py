"""The newsletter against a real SMTP server on loopback: plain, and STARTTLS with a login."""

from __future__ import annotations

import datetime as dt
import email
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from tests.conftest import run_cli
from tests.publish.conftest import SLUG

from temoin.archive import Archive
from temoin.errors import UsageError
from temoin.publish.newsletter import BadRecipients, SendFailed, Smtp

PASSWORD = "correct horse battery staple"


class Collect:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[Any] = []

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.endswith("@refused.example.org"):
            return "550 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        parsed = email.message_from_bytes(envelope.content, policy=default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"


def authenticator(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == b"camille"
        and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)  # aiosmtpd answers 535 itself


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1, its own CA, as a mail server run by an association might use."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "temoin test SMTP")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp.pem", folder / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def plain_server() -> Iterator[tuple[Collect, int]]:
    handler = Collect()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[Collect, int, Path]]:
    cert, key = self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    handler = Collect()
    port = free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=authenticator,
        auth_require_tls=True,
    )
    controller.start()
    yield handler, port, cert
    controller.stop()


@pytest.fixture
def supporters(tmp_path: Path) -> Path:
    path = tmp_path / "supporters.csv"
    path.write_text(
        "name,email\nMarie Dupont,marie@example.org\nAhmed,ahmed@example.net\n", "utf-8"
    )
    return path


def test_sent_over_starttls_with_login_through_the_cli(
    day_archive: Archive,
    tls_server: tuple[Collect, int, Path],
    supporters: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handler, port, cert = tls_server
    monkeypatch.setenv("TEMOIN_TEST_SMTP_PASSWORD", PASSWORD)
    result = run_cli(
        "-A", str(day_archive.root), "publish", "newsletter", "--story", SLUG, "--to", str(supporters),
        "--smtp", f"127.0.0.1:{port}", "--user", "camille", "--password-env", "TEMOIN_TEST_SMTP_PASSWORD",
        "--starttls", "--cafile", str(cert),
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "sent to 2 of 2" in result.out and PASSWORD not in result.out + result.err
    assert sorted(m["To"].addresses[0].addr_spec for m in handler.messages) == [
        "ahmed@example.net",
        "marie@example.org",
    ]
    message = handler.messages[0]
    assert message["From"].addresses[0].addr_spec == "contact@support.example.org"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    assert (
        "Dear everyone" in text.get_content() and "1051 people left in buses" in text.get_content()
    )
    assert "https://pot.example.org/calais" in text.get_content()
    # without base_url the photos travel inline, referenced by Content-ID
    assert 'src="cid:' in html.get_content()
    inline = [p for p in message.walk() if p.get_content_type() == "image/jpeg"]
    assert inline and all(p["Content-ID"] for p in inline)
    events = [e for e in day_archive.custody_log() if e["detail"].get("channel") == "newsletter"]
    assert events[-1]["detail"]["sent"] == 2 and "marie" not in str(events[-1])


def test_wrong_password_and_clear_text_login_are_refused(
    day_archive: Archive, tls_server: tuple[Collect, int, Path], supporters: Path
) -> None:
    _, port, cert = tls_server
    context = ssl.create_default_context(cafile=str(cert))
    from temoin.publish.newsletter import Secret

    wrong = Smtp("127.0.0.1", port, "camille", Secret("guess"), starttls=True, ssl_context=context)
    with pytest.raises(SendFailed, match="login refused"):
        day_archive.newsletter(SLUG, supporters, smtp=wrong)
    with pytest.raises(UsageError, match="--starttls"):
        day_archive.newsletter(
            SLUG, supporters, smtp=Smtp("127.0.0.1", port, "camille", Secret(PASSWORD))
        )
    untrusted = Smtp("127.0.0.1", port, "camille", Secret(PASSWORD), starttls=True)
    with pytest.raises(SendFailed):
        day_archive.newsletter(SLUG, supporters, smtp=untrusted)  # the system CAs do not know it
    assert "guess" not in repr(wrong)


def test_plain_server_links_images_to_the_site_and_notes_refusals(
    day_archive: Archive, plain_server: tuple[Collect, int], tmp_path: Path
) -> None:
    handler, port = plain_server
    with open(day_archive.root / "temoin.toml", "a", encoding="utf-8") as config:
        config.write('base_url = "https://witness.example.org/calais"\n')
    archive = Archive.open(day_archive.root)
    people = tmp_path / "people.csv"
    people.write_text("Léa,lea@example.org\nGhost,ghost@refused.example.org\n", "utf-8")
    report = archive.newsletter(SLUG, people, smtp=Smtp("127.0.0.1", port))
    archive.close()
    assert report.sent == ["lea@example.org"]
    assert report.refused[0][0] == "ghost@refused.example.org" and "550" in report.refused[0][1]
    html = handler.messages[0].get_body(("html",))
    assert html is not None
    body = html.get_content()
    assert 'src="https://witness.example.org/calais/media/' in body and "cid:" not in body
    assert f"https://witness.example.org/calais/stories/{SLUG}/index.html" in body


def test_eml_files_and_bad_recipients(
    day_archive: Archive, supporters: Path, tmp_path: Path
) -> None:
    mail = tmp_path / "mail"
    result = run_cli(
        "-A",
        str(day_archive.root),
        "publish",
        "newsletter",
        "--story",
        SLUG,
        "--to",
        str(supporters),
        "--eml",
        str(mail),
    )
    assert result.code == 0, result.err
    files = sorted(mail.glob("*.eml"))
    assert [f.name for f in files] == [
        "0001-marie-at-example.org.eml",
        "0002-ahmed-at-example.net.eml",
    ]
    parsed = email.message_from_bytes(files[0].read_bytes(), policy=default)
    assert parsed["Subject"].startswith("Calais, 24 October 2016")
    bad = tmp_path / "bad.csv"
    bad.write_text("name,email\nNo address\nX,not-an-email\n", "utf-8")
    with pytest.raises(BadRecipients, match=r"line 2.*line 3"):
        day_archive.newsletter(SLUG, bad, eml=mail)
    neither = run_cli(
        "-A",
        str(day_archive.root),
        "publish",
        "newsletter",
        "--story",
        SLUG,
        "--to",
        str(supporters),
    )
    assert neither.code == 2 and "--smtp" in neither.err
