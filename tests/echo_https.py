"""A real local HTTPS server that answers every request with an error echoing it back.

It stands where X is: the client reaches it through ``HTTPS_PROXY`` (an HTTP ``CONNECT``
proxy on 127.0.0.1) and trusts it through ``REQUESTS_CA_BUNDLE``, so requests, urllib3, TLS
and tweepy all run their real code, unchanged. The certificate is made here, by a test CA,
for ``api.x.com`` and ``api.twitter.com``; it is valid from 2020 to 2040, because the suite
moves the clock inside the test process to 2031 while OpenSSL checks against the real one.

Every answer is an error whose body quotes the request line, every header (so an
``Authorization: Basic base64(client_id:client_secret)`` or ``Bearer <token>`` comes back)
and the body (a form-encoded refresh token), the way careless servers and proxies do.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HOSTS = ("api.x.com", "api.twitter.com", "localhost")
NOT_BEFORE = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
NOT_AFTER = dt.datetime(2040, 1, 1, tzinfo=dt.UTC)


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate signed by it; returns (ca.pem, server.pem, server.key)."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "socialsell test CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(NOT_BEFORE).not_valid_after(NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName(h) for h in HOSTS] + [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOSTS[0])]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(NOT_BEFORE).not_valid_after(NOT_AFTER)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    ca_pem, cert_pem, key_pem = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return ca_pem, cert_pem, key_pem


class EchoingServer:
    """The proxy-and-server; ``requests`` holds what arrived (method, host, path, headers, body)."""

    def __init__(self, folder: Path):
        self.ca, cert, key = make_certificates(folder)
        self.tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.tls.load_cert_chain(cert, key)
        self.requests: list[dict[str, Any]] = []
        self.answers: list[str] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def proxy_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def env(self) -> dict[str, str]:
        """What a client needs to reach it: the proxy and the CA bundle."""
        return {"HTTPS_PROXY": self.proxy_url, "https_proxy": self.proxy_url, "REQUESTS_CA_BUNDLE": str(self.ca),
                "NO_PROXY": "", "no_proxy": ""}

    def __enter__(self) -> EchoingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def _handler(server: EchoingServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_CONNECT(self) -> None:  # noqa: N802 - http.server's naming
            self.host = self.path.split(":", 1)[0]
            self.send_response(200, "Connection established")
            self.end_headers()
            tls = server.tls.wrap_socket(self.connection, server_side=True)
            self.connection = tls
            self.rfile = tls.makefile("rb")
            self.wfile = tls.makefile("wb")
            self.close_connection = False  # urllib3 tunnels with HTTP/1.0: keep serving the requests inside

        def _echo(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("latin-1")
            headers = "; ".join(f"{k}: {v}" for k, v in self.headers.items())
            server.requests.append({"method": self.command, "host": getattr(self, "host", None), "path": self.path,
                                    "headers": dict(self.headers.items()), "body": body})
            echo = f"we could not process {self.command} {self.path} with headers {headers} and body {body}"
            token_endpoint = self.path.startswith("/2/oauth2/token")
            status = 400 if token_endpoint else 401
            answer = json.dumps({"error": "invalid_client" if token_endpoint else "unauthorized",
                                 "error_description": echo, "title": "Unauthorized", "detail": echo})
            server.answers.append(answer)
            data = answer.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _echo  # noqa: N815 - http.server's naming

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep test output clean
            return

    return Handler
