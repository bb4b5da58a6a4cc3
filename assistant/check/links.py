"""Which address phones will use for links and QR codes: said at start-up and by ``assistant check``.

Staff set the kiosk up once and then hand phones a QR code; if that code names ``127.0.0.1`` it
opens nothing on the phone, and nobody finds out until a user tries. So the address is said
plainly, in English and Japanese (staff may read either), with what to do when it is wrong.
"""

from __future__ import annotations

from assistant.check.findings import Finding
from assistant.config import Settings
from assistant.net import is_loopback


def phones_can_open(settings: Settings) -> bool:
    """Whether the links name an address other devices can reach."""
    host = settings.base_url.split("://", 1)[-1].rsplit(":", 1)[0]
    return not is_loopback(host)


def links_sentence(settings: Settings) -> str:
    """One line each in English and Japanese: the address in links, and whether phones can
    open it."""
    url = settings.base_url
    if phones_can_open(settings):
        return f"Phones and QR codes use {url}\nスマートフォンとQRコードは {url} を使います"
    return (
        f"Links and QR codes use {url}, which only this machine can open: "
        "connect it to the network or set public_base_url\n"
        f"リンクとQRコードは {url} で、この機械でしか開けません。"
        "ネットワークにつなぐか、public_base_url を設定してください"
    )


def check_links(settings: Settings) -> list[Finding]:
    """The address phones will use, as one finding (not usable when only this machine can)."""
    ok = phones_can_open(settings)
    fix = None if ok else "connect this machine to the network, or set public_base_url"
    detail = (
        f"phones and QR codes use {settings.base_url}"
        if ok
        else f"links use {settings.base_url}: only this machine can open them"
    )
    return [Finding("links", "address", ok, detail, fix)]
