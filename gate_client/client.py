"""GateClient: online first, offline from the bundle when the server is out of reach."""
from __future__ import annotations

import json
import os
import uuid
from datetime import datetime
from pathlib import Path

import requests

from .offline import OfflineValidator
from .store import QueueFull, Store

__all__ = ["GateClient", "GateError", "NoBundle", "QueueFull"]


class NoBundle(Exception):
    """Offline without a bundle: the gate cannot decide; send visitors to staff."""


class GateError(Exception):
    """The server refused the request itself (bad token, bad input): not a network fault."""

    def __init__(self, status: int, body: dict):
        super().__init__(f"{status} {body.get('error')}: {body.get('message')}")
        self.status = status
        self.body = body


class SystemClock:
    """The gate computer's clock in its own zone; the validator reads scans in the site's
    zone (from the bundle) and the server converts the offset it is sent."""

    def now(self) -> datetime:
        return datetime.now().astimezone()


class GateClient:
    """What a turnstile runs. ``scan`` never blocks longer than ``timeout`` on the network;
    every offline decision is queued on disk and uploaded by ``sync``."""

    def __init__(self, server: str, token: str, data_dir: str | Path, *, clock=None,
                 timeout: float = 1.5, max_pending: int = 100_000, session=None):
        self.server = server.rstrip("/")
        self.token = token
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.clock = clock or SystemClock()
        self.timeout = timeout
        self.http = session or requests.Session()
        self.store = Store(self.data_dir / "gate.sqlite", max_pending=max_pending)
        self.validator: OfflineValidator | None = None
        bundle_file = self.data_dir / "bundle.json"
        if bundle_file.exists():
            self.validator = OfflineValidator(json.loads(bundle_file.read_text("utf-8")))

    def close(self) -> None:
        self.http.close()
        self.store.close()

    # --- network ------------------------------------------------------------------
    def _headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}

    def _request(self, method: str, path: str, **kw):
        """The JSON answer; ConnectionError on any network or server (5xx) fault."""
        try:
            r = self.http.request(method, self.server + path, headers=self._headers(),
                                  timeout=kw.pop("timeout", self.timeout), **kw)
        except requests.RequestException as exc:
            raise ConnectionError(str(exc)) from exc
        if r.status_code >= 500:
            raise ConnectionError(f"server error {r.status_code}")
        try:
            body = r.json()
        except ValueError:
            raise ConnectionError(f"not JSON (status {r.status_code})") from None
        if r.status_code >= 400:
            raise GateError(r.status_code, body)
        return body

    # --- bundle -------------------------------------------------------------------
    def fetch_bundle(self) -> dict:
        """Download today's bundle and keep it on disk (replaced atomically)."""
        bundle = self._request("GET", "/api/gate/bundle", timeout=max(self.timeout, 10))
        validator = OfflineValidator(bundle)
        path = self.data_dir / "bundle.json"
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(bundle, fh, ensure_ascii=False)
        os.replace(tmp, path)
        self.validator = validator
        # The new snapshot holds every synced passage; replay what is still queued.
        self.store.reset_presence()
        for item in self.store.pending(self.store.max_pending):
            if item["result"] == "allow" and item.get("local_ticket") is not None:
                self._record(item["local_ticket"], item["direction"],
                             datetime.fromisoformat(item["scanned_at"]))
        return bundle

    def _snapshot(self, ticket_id):
        return self.validator.snapshot.get(ticket_id) if self.validator else None

    def _presence(self, at):
        closing = self.validator.closing_at if self.validator else None
        return lambda tid: self.store.presence(tid, self._snapshot(tid), closing, at)

    def _record(self, ticket_id, direction, at):
        self.store.record(ticket_id, direction, at, self._snapshot(ticket_id))

    # --- scanning -----------------------------------------------------------------
    def scan(self, code: str | None = None, *, document: str | None = None,
             direction: str = "entry") -> dict:
        """Scan a code (or an ID number): the server's answer, or an offline decision.
        The answer carries ``mode``: "online" or "offline".

        Scans this gate decided offline reach the server before any online scan does: an
        online answer must not overtake a queued passage (a ticket admitted offline and
        shown again once the server is back would be admitted twice). While some stay
        queued (the server cannot take them yet), this gate keeps deciding offline."""
        nonce = uuid.uuid4().hex
        at = self.clock.now()
        if self.store.pending_count():
            try:
                queued = self.sync(timeout=self.timeout)["remaining"]
            except GateError:        # refused (a revoked token...): the queue stays for staff
                queued = self.store.pending_count()
            if queued:
                return self._scan_offline(nonce, at, code, document, direction)
        body = {"direction": direction, "nonce": nonce,
                "scanned_at": at.isoformat(timespec="seconds")}
        if document is not None:
            body["document"] = document
        else:
            body["code"] = code
        try:
            answer = self._request("POST", "/api/gate/scan", json=body)
        except ConnectionError:
            return self._scan_offline(nonce, at, code, document, direction)
        if answer.get("result") == "allow" and answer.get("ticket"):
            self._record(answer["ticket"]["id"], direction, at)
        return {**answer, "mode": "online"}

    def _scan_offline(self, nonce, at, code, document, direction) -> dict:
        if self.validator is None:
            raise NoBundle("no bundle yet: run 'fetch-bundle' while the server is reachable")
        presence_of = self._presence(at)
        if document is not None:
            verdict = self.validator.validate_document(document, direction, at, presence_of)
        else:
            verdict = self.validator.validate_code(code, direction, at, presence_of)
        item = {"nonce": nonce, "direction": direction,
                "scanned_at": at.isoformat(timespec="seconds"), "result": verdict.result,
                "reason": verdict.reason}
        if document is None:
            item["code"] = code if isinstance(code, str) and len(code) <= 512 else ""
        elif verdict.ticket is not None:
            item["ticket_id"] = verdict.ticket.id  # never the ID number itself
        if verdict.result == "allow":
            item["local_ticket"] = verdict.ticket.id  # kept on the gate, not uploaded
        passage = None
        if verdict.result == "allow":
            tid = verdict.ticket.id
            passage = (tid, direction, at, self._snapshot(tid))
        self.store.enqueue(item, passage)
        return {**verdict.to_json(), "mode": "offline"}

    # --- sync ---------------------------------------------------------------------
    def sync(self, batch: int = 200, timeout: float | None = None) -> dict:
        """Upload queued offline scans; each is removed once the server has an answer
        for it. Stops quietly (keeping the rest) when the server is unreachable."""
        totals = {"sent": 0, "recorded": 0, "duplicate": 0, "conflict": 0, "invalid": 0,
                  "nonce_conflict": 0}
        while True:
            items = self.store.pending(batch)
            if not items:
                break
            upload = [{k: v for k, v in it.items() if k != "local_ticket"} for it in items]
            try:
                answer = self._request("POST", "/api/gate/offline-scans",
                                       json={"scans": upload},
                                       timeout=timeout or max(self.timeout, 30))
            except ConnectionError:
                break
            done = []
            for res in answer.get("results", []):
                totals[res.get("status")] = totals.get(res.get("status"), 0) + 1
                if res.get("nonce"):
                    done.append(res["nonce"])
            totals["sent"] += len(items)
            if not done:
                break
            self.store.remove(done)
        totals["remaining"] = self.store.pending_count()
        return totals

    def status(self) -> dict:
        v = self.validator
        return {"server": self.server, "pending": self.store.pending_count(),
                "bundle_day": v.bundle["day"] if v else None,
                "bundle_generated_at": v.bundle["generated_at"] if v else None,
                "bundle_tickets": len(v.tickets) if v else 0,
                "site": v.site if v else None}

