"""How long the booking page's proof of work takes in a real browser, at the shipped
difficulty (POW_MAX_NUMBER), beside the same page on this machine without throttling.

    .venv/bin/python bench/pow_bench.py [--loads 10] [--throttle 4] [--max-number N]

The server is started as run.sh starts it (scripts.serve, on a fresh instance). Debian's
chromium (Playwright) opens the booking form on a phone-sized screen; the page fetches a
challenge and solves it in Web Workers (static/ticketing/pow.js) and records the time in
``data-pow-ms``. "Phone" runs add Chrome DevTools' CPU throttling (4x: Lighthouse's figure
for a mid-range phone) and limit the workers to the 4 the page uses at most on a phone.
Python's own solve time (what a scripted bot pays per attempt) is printed beside them.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from bench.abuse_bench import Server, fast_solve  # noqa: E402


def _loads(page, url: str, n: int) -> list[float]:
    out = []
    for _ in range(n):
        page.goto(url)
        page.wait_for_selector("form[data-pow-ready]", timeout=60_000)
        out.append(float(page.locator("form#holders").get_attribute("data-pow-ms")))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loads", type=int, default=10)
    ap.add_argument("--throttle", type=float, default=4.0)
    ap.add_argument("--max-number", type=int, default=None,
                    help="POW_MAX_NUMBER for this run (default: the shipped setting)")
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright
    from testkit import CHROMIUM, CHROMIUM_ARGS
    extra = {"SCENIC_POW_MAX_NUMBER": str(args.max_number)} if args.max_number else {}
    with tempfile.TemporaryDirectory() as tmp, Server(Path(tmp), extra) as server:
        slot = server.slots()[3]["slot_id"]
        url = f"{server.url}/tickets/kongmiao?date={server.day}&slot_id={slot}"
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            ctx = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
            page = ctx.new_page()
            here = _loads(page, url, args.loads)
            cdp = ctx.new_cdp_session(page)
            cdp.send("Emulation.setCPUThrottlingRate", {"rate": args.throttle})
            phone = _loads(page, url, args.loads)
            browser.close()
        bot = []
        for _ in range(args.loads):
            t = time.perf_counter()
            fast_solve(server.challenge("10.0.0.1"))
            bot.append((time.perf_counter() - t) * 1000)
        max_number = server.config_value("POW_MAX_NUMBER")
    q = lambda xs, p: sorted(xs)[min(len(xs) - 1, int(p * len(xs)))]
    print(f"proof of work, POW_MAX_NUMBER={max_number}, {args.loads} page loads each, "
          f"{time.strftime('%Y-%m-%d %H:%M')} (shared 2-core machine)")
    print(f"{'':34}{'median ms':>10}{'p90 ms':>10}")
    for name, xs in (("chromium, this machine", here),
                     (f"chromium, CPU throttled {args.throttle:g}x", phone),
                     ("python bot (hashlib), one core", bot)):
        print(f"{name:34}{statistics.median(xs):>10.0f}{q(xs, 0.9):>10.0f}")
    print("target: well under 1000 ms on a phone (throttled row)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
