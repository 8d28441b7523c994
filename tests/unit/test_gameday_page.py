"""The live page's security rules, each refusal proven against the real aiohttp server on 127.0.0.1."""
import asyncio
import json

import httpx
import pytest

from harness.gameday.live import LiveView
from harness.gameday.page import LivePage
from tests.unit.gameday_kit import desk_on, kinds


def run_against_page(tmp_path, check):
    """Start the page over a desk without a cluster; `check(page, http, base)` runs against it."""
    async def main():
        async with desk_on(tmp_path) as desk:
            page = LivePage(desk, LiveView(), "game day hx-unit")
            await page.start()
            base = f"http://127.0.0.1:{page.guard.port}"
            try:
                async with httpx.AsyncClient(trust_env=False, timeout=5) as http:
                    return await check(page, http, base)
            finally:
                await page.stop()
    return asyncio.run(main())


def no_cors(response: httpx.Response) -> None:
    assert not [h for h in response.headers if h.lower().startswith("access-control-")], dict(response.headers)


def test_first_load_trades_the_token_for_a_strict_cookie_and_drops_it_from_the_url(tmp_path):
    async def check(page, http, base):
        first = await http.get(f"{base}/?token={page.guard.token}")
        assert first.status_code == 303 and first.headers["location"] == "/"
        cookie = first.headers["set-cookie"]
        assert f"{page.guard.cookie}={page.guard.token}" in cookie
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
        again = await http.get(f"{base}/", cookies={page.guard.cookie: page.guard.token})
        assert again.status_code == 200 and "Inject and confirm" in again.text
        assert again.headers["X-Frame-Options"] == "DENY" and "frame-ancestors 'none'" in again.headers["Content-Security-Policy"]
        assert again.headers["Referrer-Policy"] == "no-referrer"
        assert "http://" not in again.text.split("<body>")[1].replace("http://www.w3.org/2000/svg", "")  # no external assets
        no_cors(again)
    run_against_page(tmp_path, check)


def test_listens_on_loopback_only(tmp_path):
    async def check(page, http, base):
        assert page.addresses == [("127.0.0.1", page.guard.port)]
    run_against_page(tmp_path, check)


@pytest.mark.parametrize("cookie, query", [(None, None), ("wrong", None), (None, "wrong")])
def test_no_token_or_a_wrong_one_is_refused(tmp_path, cookie, query):
    async def check(page, http, base):
        for path in ("/", "/events", "/api/state"):
            r = await http.get(base + path + (f"?token={query}" if query else ""),
                               cookies={page.guard.cookie: cookie} if cookie else None)
            assert r.status_code == 403, path
            assert page.guard.token not in r.text
            no_cors(r)
    run_against_page(tmp_path, check)


@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "127.0.0.1:1", "192.168.1.5:{port}", ""])
def test_a_foreign_host_header_is_refused_even_with_the_token(tmp_path, host):
    """DNS rebinding: a foreign name resolving to 127.0.0.1 still carries its own Host."""
    async def check(page, http, base):
        r = await http.get(f"{base}/?token={page.guard.token}", headers={"Host": host.format(port=page.guard.port)},
                           cookies={page.guard.cookie: page.guard.token})
        assert r.status_code == 421 and "set-cookie" not in r.headers
        no_cors(r)
    run_against_page(tmp_path, check)


def post_headers(page, **changes):
    headers = {"Origin": f"http://127.0.0.1:{page.guard.port}", "X-HX-Token": page.guard.token,
               "Content-Type": "application/json"}
    headers.update(changes)
    return {k: v for k, v in headers.items() if v is not None}


@pytest.mark.parametrize("case", ["foreign origin", "no origin", "null origin", "no token header", "no cookie",
                                  "wrong token header", "other port origin"])
def test_state_changing_requests_are_refused(tmp_path, case):
    async def check(page, http, base):
        cookies = {page.guard.cookie: page.guard.token}
        headers = {
            "foreign origin": post_headers(page, Origin="https://evil.example"),
            "no origin": post_headers(page, Origin=None),
            "null origin": post_headers(page, Origin="null"),
            "no token header": post_headers(page, **{"X-HX-Token": None}),
            "no cookie": post_headers(page),
            "wrong token header": post_headers(page, **{"X-HX-Token": "guess"}),
            "other port origin": post_headers(page, Origin="http://127.0.0.1:1"),
        }[case]
        for path, body in (("/api/notes", {"text": "hi"}), ("/api/faults", {"kind": "latency", "target": "redis",
                                                                             "latency": 100}),
                           ("/api/faults/revert", {"name": None})):
            r = await http.post(base + path, json=body, headers=headers, cookies=None if case == "no cookie" else cookies)
            assert r.status_code == 403, (case, path)
            no_cors(r)
    run_against_page(tmp_path, check)
    assert kinds(tmp_path) == []   # nothing happened


def test_a_cors_preflight_gets_no_cors_headers(tmp_path):
    async def check(page, http, base):
        r = await http.request("OPTIONS", f"{base}/api/faults", headers={
            "Origin": "https://evil.example", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-hx-token"})
        assert r.status_code in (403, 405)
        no_cors(r)
    run_against_page(tmp_path, check)


def test_the_page_own_requests_work(tmp_path):
    async def check(page, http, base):
        cookies = {page.guard.cookie: page.guard.token}
        note = await http.post(f"{base}/api/notes", json={"text": "paged on-call"}, headers=post_headers(page),
                               cookies=cookies)
        assert note.status_code == 200 and note.json()["text"] == "paged on-call"
        bad = await http.post(f"{base}/api/faults", json={"kind": "latncy"}, headers=post_headers(page), cookies=cookies)
        assert bad.status_code == 400 and "unknown fault kind 'latncy'" in bad.json()["error"]
        garbage = await http.post(f"{base}/api/notes", content=b"[1", headers=post_headers(page), cookies=cookies)
        assert garbage.status_code == 400
        state = (await http.get(f"{base}/api/state", cookies=cookies)).json()
        assert state["title"] == "game day hx-unit" and state["catalogue"]["kinds"]
        async with http.stream("GET", f"{base}/events", cookies=cookies) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            page.push("sample", {"sample": {"t": 1.0}, "markers": []})
            lines = stream.aiter_lines()
            seen = [(await lines.__anext__()).rstrip("\n") for _ in range(5)]
        assert seen[0] == "event: hello" and json.loads(seen[1][len("data: "):])["title"] == "game day hx-unit"
        assert seen[3] == "event: sample"
    run_against_page(tmp_path, check)
    assert kinds(tmp_path) == ["note"]
