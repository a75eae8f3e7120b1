"""Serve the site under waitress (the production WSGI server) and start the demo's
background processes (each domain's ``demo.processes(app)``), stopping them on exit."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

from waitress import serve

from app import create_app
from core.domains import DOMAINS, domain_modules


def main() -> int:
    app = create_app()
    children = []
    if os.environ.get("SCENIC_NO_WORKERS") != "1":
        for mod in domain_modules("demo", DOMAINS):
            for cmd in getattr(mod, "processes", lambda a: [])(app):
                print("starting:", " ".join(cmd), flush=True)
                children.append(subprocess.Popen(cmd))

    def stop(*_):
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    host, port = app.config["HOST"], app.config["PORT"]
    print(f"serving on http://{host}:{port}/", flush=True)
    try:
        # Forwarding headers reach the app, which trusts them only with TRUSTED_PROXY_HOPS
        # (core.web.TrustedProxy) and drops them otherwise.
        serve(app, host=host, port=port, threads=app.config["THREADS"], ident="scenic",
              clear_untrusted_proxy_headers=False)
    finally:
        stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
