"""Crowd fixtures: a camera with an area and a line, a worker token, and helpers to post
observations through the real ingest API."""
from __future__ import annotations

import pytest

from core.auth import create_device
from crowd import cameras, workers

CAMERA = {
    "id": "cam-a", "name": "Test camera", "site_id": "kongmiao", "zone_id": "qianyuan",
    "source": "data/crowd/vtest-clip.mp4", "width": 768, "height": 576,
    "regions": [
        {"kind": "area", "name": "path", "capacity": 10,
         "points": [[0, 100], [768, 100], [768, 576], [0, 576]]},
        {"kind": "line", "name": "mid", "points": [[300, 330], [300, 130]]},
    ],
}


@pytest.fixture
def camera_data():
    import copy
    return copy.deepcopy(CAMERA)


@pytest.fixture
def worker_account(db, clock):
    """The worker device the tests report with: (user, token)."""
    return create_device(db, username="worker-a", role="worker", clock=clock)


@pytest.fixture
def own_camera(db, clock, worker_account):
    """Save a camera and let the test's worker device report for it."""
    def save(data):
        cam = cameras.save_camera(db, dict(data), clock=clock, create=True)
        workers.assign_cameras(db, [cam.id], user_id=worker_account[0].id, replace=False)
        return cam
    return save


@pytest.fixture
def worker_cameras(db, worker_account):
    """The worker device's config, as GET /api/crowd/worker/config gives it."""
    return lambda: workers.worker_config(db, worker_account[0])["cameras"]


@pytest.fixture
def camera(own_camera):
    return own_camera(CAMERA)


@pytest.fixture
def worker_token(worker_account):
    return worker_account[1]


@pytest.fixture
def post_obs(client, worker_token):
    def post(payload=None, token=None, **fields):
        body = {"camera_id": "cam-a", "status": "online", "people": 0, "areas": {"path": 0}}
        body.update(payload or {})
        body.update(fields)
        return client.post("/api/crowd/observations", json=body,
                           headers={"Authorization": f"Bearer {token or worker_token}"})
    return post


class ClientPoster:
    """The worker's Poster over the Flask test client: real routes, real auth, no socket."""

    def __init__(self, client, token):
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}
        self.sent = []

    def _check(self, resp):
        from crowd.worker import PostError
        if resp.status_code >= 300:
            body = resp.get_json(silent=True) or {}
            raise PostError(resp.status_code, body.get("error", "http_error"))
        return resp.get_json(silent=True) or {}

    def config(self):
        return self._check(self.client.get("/api/crowd/worker/config", headers=self.headers))

    def observation(self, payload):
        self.sent.append(payload)
        return self._check(self.client.post("/api/crowd/observations", json=payload,
                                            headers=self.headers))

    def frame(self, camera_id, jpeg):
        self._check(self.client.post(f"/api/crowd/cameras/{camera_id}/frame", data=jpeg,
                                     headers=dict(self.headers, **{"Content-Type": "image/jpeg"})))


@pytest.fixture
def poster(client, worker_token):
    return ClientPoster(client, worker_token)
