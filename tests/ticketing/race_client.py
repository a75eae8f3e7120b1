"""A separate buyer process for the never-oversell test:
``python -m race_client URL SITE DATE SLOT_ID PRODUCT BUYERS OFFSET``.
Fires BUYERS concurrent one-holder bookings and prints one JSON line per answer. Each buyer
solves its proof of work first and comes from its own address (X-Forwarded-For: the server
trusts one proxy hop), as separate visitors would."""
from __future__ import annotations

import json
import sys
import threading
import time
import urllib.error
import urllib.request

from admission.identity import check_digit
from testkit import solve_pow


def resident_id(n: int) -> str:
    body = f"370102{1950 + n % 50}0{1 + n % 9}1{n % 10}{n % 1000:03d}"
    return body + check_digit(body)


def address(n: int) -> str:
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def proof(url, n) -> str:
    req = urllib.request.Request(url + "/api/pow/challenge", headers={"X-Forwarded-For": address(n)})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return solve_pow(json.loads(resp.read()))


def book(url, site, day, slot_id, product, n, altcha):
    body = json.dumps({"site_id": site, "date": day, "slot_id": slot_id, "product_id": product,
                       "altcha": altcha,
                       "holders": [{"name": f"游客{n}", "document_type": "resident_id",
                                    "document_number": resident_id(n)}]}).encode()
    req = urllib.request.Request(url + "/api/ticketing/orders", data=body, method="POST",
                                 headers={"Content-Type": "application/json",
                                          "X-Forwarded-For": address(n),
                                          "Idempotency-Key": f"race-{n:08d}"})
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            status, data = resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        status, data = exc.code, json.loads(exc.read() or b"{}")
    ms = (time.perf_counter() - start) * 1000
    return {"n": n, "status": status, "error": data.get("error"), "number": data.get("number"),
            "ms": round(ms, 2)}


def main(argv):
    url, site, day, slot_id, product, buyers, offset = argv
    results, lock = [], threading.Lock()
    gate = threading.Barrier(int(buyers))

    def run(n):
        altcha = proof(url, n)
        gate.wait()
        r = book(url, site, day, int(slot_id), product, n, altcha)
        with lock:
            results.append(r)
    threads = [threading.Thread(target=run, args=(int(offset) + i,)) for i in range(int(buyers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        print(json.dumps(r))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
