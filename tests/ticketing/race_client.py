"""A separate buyer process for the never-oversell test and the bench:
``python -m race_client URL SITE DATE SLOT_ID PRODUCT BUYERS OFFSET``.
Fires BUYERS concurrent one-holder bookings and prints one JSON line per answer."""
from __future__ import annotations

import json
import sys
import threading
import time
import urllib.error
import urllib.request

from admission.identity import check_digit


def resident_id(n: int) -> str:
    body = f"370102{1950 + n % 50}0{1 + n % 9}1{n % 10}{n % 1000:03d}"
    return body + check_digit(body)


def book(url, site, day, slot_id, product, n):
    body = json.dumps({"site_id": site, "date": day, "slot_id": slot_id, "product_id": product,
                       "holders": [{"name": f"游客{n}", "document_type": "resident_id",
                                    "document_number": resident_id(n)}]}).encode()
    req = urllib.request.Request(url + "/api/ticketing/orders", data=body, method="POST",
                                 headers={"Content-Type": "application/json",
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
        gate.wait()
        r = book(url, site, day, int(slot_id), product, n)
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
