"""An attachment of a customer's mail reaches the agent's case page and downloads byte for byte."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import httpx

from allsak.embedded import embedded
from shared.testing import wait_for
from tests.support.mail import make_mail

ADMIN = "attachments-admin-token-0123456789"


async def test_an_agent_downloads_the_attachment_from_the_case_page(tmp_path: Path) -> None:
    raw, _ = make_mail(1, kind="attachment")
    async with embedded(tmp_path, gateway={"admin_token": ADMIN}) as apps:
        transport = httpx.ASGITransport(app=apps["gateway"])
        async with httpx.AsyncClient(transport=transport, base_url="http://allsak") as web:
            posted = await web.post(
                "/api/v1/intake/mail",
                content=raw,
                headers={"Authorization": f"Bearer {ADMIN}", "Content-Type": "message/rfc822"},
            )
            assert posted.status_code == 202

            async def number() -> str | None:
                items = (await web.get("/api/v1/cases", headers={"Authorization": f"Bearer {ADMIN}"})).json()[
                    "items"
                ]
                return items[0]["number"] if items else None

            case = await wait_for(number)
            login = await web.post("/login", data={"token": ADMIN})
            cookie = {"Cookie": login.headers["set-cookie"].split(";", 1)[0]}
            page = await web.get(f"/cases/{case}", headers=cookie)
            assert page.status_code == 200
            [link] = re.findall(r'href="(/attachments/[0-9a-f]{64})">vedlegg.pdf<', page.text)
            download = await web.get(link, headers=cookie)
            assert download.status_code == 200
            assert download.content == b"%PDF-1.4 test " * 200
            assert hashlib.sha256(download.content).hexdigest() == link.rsplit("/", 1)[1]
            assert download.headers["content-disposition"].startswith("attachment")
            web.cookies.clear()
            assert (await web.get(link)).status_code in (302, 303), "no session, no download"
            assert (await web.get(f"/attachments/{'b' * 64}", headers=cookie)).status_code == 404
