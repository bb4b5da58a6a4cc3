"""The repository's nginx configuration (deploy/nginx/assistant.conf) run by Debian's nginx on
this machine: a self-signed certificate for 127.0.0.1 and the file with only its ports,
certificate paths and site folder replaced, under a prefix folder of its own.

Shared by tests/test_deploy_nginx.py (one service behind it) and testing/cluster.py (two
instances behind it), so both run the very file a facility installs.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from assistant.config import PROJECT_ROOT

CONF = PROJECT_ROOT / "deploy" / "nginx" / "assistant.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
TEMPORARY_KINDS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


def certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, as a real one would be for the server's name."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    made = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = folder / "fullchain.pem", folder / "privkey.pem"
    cert_path.write_bytes(made.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def nginx_config(
    prefix: Path,
    ports: dict[str, int],
    site: Path,
    cert: Path,
    key: Path,
    upstreams: Sequence[int] | None = None,
    connections: int = 2048,
) -> str:
    """The repository's file with this machine's ports and paths, inside a minimal main
    configuration whose logs, pid and temporary files live under ``prefix``. ``upstreams``:
    the ports of the instances behind it (default: ``ports["service"]`` alone). ``connections``:
    nginx's ``worker_connections``; a proxied websocket holds two (the user's, the upstream's)."""
    text = CONF.read_text(encoding="utf-8")
    servers = "\n    ".join(
        f"server 127.0.0.1:{port};" for port in (upstreams or [ports["service"]])
    )
    replacements = {
        "server 127.0.0.1:8080;": servers,
        "listen 80;": f"listen 127.0.0.1:{ports['http']};",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{ports['https']} ssl http2;",
        "/etc/ssl/facility-assistant/fullchain.pem": str(cert),
        "/etc/ssl/facility-assistant/privkey.pem": str(key),
        "alias /var/lib/facility-assistant/site/;": f"alias {site}/;",
    }
    for old, new in replacements.items():
        assert text.count(old) == 1, f"{CONF.name} no longer holds {old!r} once"
        text = text.replace(old, new)
    # The test machine may have no IPv6; production listens on both.
    text = "\n".join(line for line in text.splitlines() if "listen [::]" not in line)
    temporary = "\n".join(f"    {kind}_temp_path {prefix / kind};" for kind in TEMPORARY_KINDS)
    # As root, nginx's workers would become nobody, who cannot enter pytest's private
    # temporary folders; in production www-data reads the 0755 site folder.
    user = "user root root;\n" if os.geteuid() == 0 else ""
    return (
        f"{user}worker_processes 1;\npid {prefix / 'nginx.pid'};\n"
        f"error_log {prefix / 'error.log'} info;\ndaemon off;\n"
        f"events {{ worker_connections {connections}; }}\n"
        f"http {{\n    include /etc/nginx/mime.types;\n    access_log {prefix / 'access.log'};\n"
        f"{temporary}\n{text}\n}}\n"
    )


def prepare(
    prefix: Path,
    ports: dict[str, int],
    site: Path,
    upstreams: Sequence[int] | None = None,
    connections: int = 2048,
) -> tuple[list[str], Path]:
    """Write the certificate and configuration under ``prefix``; the command that runs nginx
    in the foreground with them, and the certificate a client must trust."""
    prefix.mkdir(parents=True, exist_ok=True)
    for kind in TEMPORARY_KINDS:
        (prefix / kind).mkdir(exist_ok=True)
    cert, key = certificate(prefix)
    conf = prefix / "nginx.conf"
    conf.write_text(
        nginx_config(prefix, ports, site, cert, key, upstreams, connections), encoding="utf-8"
    )
    command = [NGINX, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")]
    return command, cert
