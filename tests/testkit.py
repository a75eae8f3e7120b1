"""Helpers shared by test modules. Import with ``from testkit import ...`` (never
``from conftest import``: each tests/<domain>/conftest.py is also named conftest)."""
from __future__ import annotations

import itertools
import re
import threading
import time
from contextlib import contextmanager

PASSWORD = "correct horse battery"
CHROMIUM = "/usr/bin/chromium"   # Debian's; Playwright's own browser download is not used
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
_id_seq = itertools.count(100)


def csrf_of(client, path: str = "/") -> str:
    """The CSRF token of a test client's session (fetching a page creates one)."""
    return csrf_of_page(client.get(path).get_data(as_text=True))


def csrf_of_page(html: str) -> str:
    """The CSRF token in a page's <meta name="csrf-token">."""
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


@contextmanager
def serve_app(app, threads: int = 16):
    """Serve a WSGI app under waitress on a free loopback port; yields its base URL."""
    from waitress.server import create_server
    server = create_server(app, host="127.0.0.1", port=0, threads=threads,
                           clear_untrusted_proxy_headers=False)  # as scripts/serve.py
    port = server.effective_port
    _no_wakeups_after_close(server.trigger)

    def run():
        try:
            server.run()
        except (OSError, ValueError):
            pass  # the loop's select() sees its socket closed by server.close() below

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        thread.join(timeout=5)


def _no_wakeups_after_close(trigger) -> None:
    """waitress (3.0) wakes its loop by writing b"x" to a pipe, also from a response still
    running after server.close() closed that pipe; its descriptor number then belongs to
    whatever the next test opened, and the byte lands there (it once overwrote the first
    byte of a SQLite file: "file is not a database"). Wake-ups after the close are dropped;
    a lock keeps the close from coming between the check and the write."""
    guard = threading.Lock()
    pull, close = trigger._physical_pull, trigger._close

    def guarded_pull():
        with guard:
            if not trigger._closed:
                pull()

    def guarded_close():
        with guard:
            close()
    trigger._physical_pull, trigger._close = guarded_pull, guarded_close


@contextmanager
def browser_page(browser, width: int, height: int):
    """A page in a fresh browser context (its own cookies) of a given viewport, in Chinese."""
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    try:
        yield context.new_page()
    finally:
        context.close()


def wait_in_page(page, js_function: str, timeout: float = 15.0) -> None:
    """Wait until a JS function (as text, ``() => ...``) returns true in the page. Polled
    from here with page.evaluate, which the page's CSP (no 'unsafe-eval') allows, where
    Playwright's wait_for_function evaluates its predicate with eval and is refused."""
    end = time.monotonic() + timeout
    while not page.evaluate(js_function):
        if time.monotonic() > end:
            raise AssertionError(f"not true in the page after {timeout} s: {js_function}")
        time.sleep(0.1)


def log_in_browser(page, base: str, user, then: str = "/console") -> None:
    """Log a made user in through the real login form and wait for ``then``."""
    page.goto(f"{base}/login?next={then}")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**" + then)


def resident_id(born: str = "19900307", region: str = "370102", seq: int | None = None) -> str:
    """A valid GB 11643 resident ID number for a birth date YYYYMMDD, new on every call."""
    from admission.identity import check_digit
    body = f"{region}{born}{(seq if seq is not None else next(_id_seq)) % 1000:03d}"
    return body + check_digit(body)


def solve_pow(challenge: dict) -> str:
    """The ALTCHA payload for a challenge from /api/pow/challenge, solved as a client would."""
    import altcha
    parsed = altcha.Challenge.from_dict(challenge)
    return altcha.Payload(parsed, altcha.solve_challenge(parsed)).to_base64()


def pow_for(client) -> str:
    """A fresh proof of work through a Flask test client (one per booking request)."""
    return solve_pow(client.get("/api/pow/challenge").get_json())


def generous_limits(app) -> None:
    """Booking limits out of the way, for tests about something else that book a lot from
    one test client (the limits' own tests run with the shipped defaults)."""
    app.config.update(TICKETING_BOOKINGS_PER_CLIENT="10000/minute",
                      TICKETING_CLIENT_SLOT_TICKETS="10000/day",
                      TICKETING_CLIENT_HOLDS="10000/hour", TICKETING_CLIENT_FREE_TICKETS="10000/day",
                      TICKETING_RECOVERY_PER_CLIENT="10000/hour",
                      TICKETING_HOLDER_REFUSALS_PER_CLIENT="10000/day",
                      POW_CHALLENGES_PER_CLIENT="100000/minute")


def register_test_gateway(monkeypatch) -> str:
    """A stand-in for a real payment adapter (production refuses the sandbox): registered
    under 'testpay' for one test; returns the name for TICKETING_PAYMENT_PROVIDER."""
    from ticketing import providers

    class Gateway(providers.SandboxProvider):
        name = "testpay"

    monkeypatch.setitem(providers.ADAPTERS, "testpay",
                        lambda config, **hooks: Gateway(b"k" * 32, **hooks))
    return "testpay"


def parse_metrics(text: str) -> dict:
    """Prometheus text as {(sample name, ((label, value), ...)): value}."""
    from prometheus_client.parser import text_string_to_metric_families
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(text) for s in fam.samples}


def scrape(client_or_url, **headers) -> dict:
    """GET /metrics through a Flask test client or over HTTP from a base URL, parsed."""
    if isinstance(client_or_url, str):
        import urllib.request
        req = urllib.request.Request(client_or_url + "/metrics", headers=headers)
        with urllib.request.urlopen(req, timeout=30) as resp:
            return parse_metrics(resp.read().decode())
    resp = client_or_url.get("/metrics", headers=headers)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return parse_metrics(resp.get_data(as_text=True))


def metric(samples: dict, name: str, **labels) -> float:
    """One sample's value (0 when the series does not exist yet)."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)
