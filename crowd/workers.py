"""Worker devices and the cameras each may report for.

A worker token is good for its own cameras only: a count posted for another camera could
raise a false alert or pause a site's ticket sales. Every way a worker reports (the
ingest API, live frames, and the MQTT path planned for issue 12) goes through
``authorize_camera``, the one place that rule lives.
"""
from __future__ import annotations

from core.auth import User, account_by_id, find_account, list_accounts
from core.db import immediate
from core.errors import Forbidden, NotFound, ValidationError
from core.text import _l

from . import repo
from .cameras import Camera, get_camera, list_cameras


def authorize_camera(db, worker: User | None, camera_id) -> Camera:
    """The camera, if this worker device may report for it. Otherwise 403
    ``camera_not_allowed``, the same answer whether or not the camera exists (a worker
    learns nothing about cameras that are not its own)."""
    if worker is None or worker.role != "worker" or not isinstance(camera_id, str) \
            or not repo.worker_may_report(db, worker.id, camera_id):
        raise Forbidden("camera_not_allowed", _l("This worker device may not report for that "
                                                 "camera; an admin assigns cameras to workers."))
    return get_camera(db, camera_id)


def worker_config(db, worker: User) -> dict:
    """What a worker needs to run its own enabled cameras (sources included: they go to
    that worker only)."""
    own = set(repo.worker_camera_ids(db, worker.id))
    return {"cameras": [c.to_json() for c in list_cameras(db, enabled_only=True)
                        if c.id in own]}


def list_workers(db) -> list[dict]:
    """Active worker devices with the cameras each may report for."""
    return [{"id": a["id"], "username": a["username"],
             "cameras": repo.worker_camera_ids(db, a["id"])}
            for a in list_accounts(db) if a["role"] == "worker" and a["active"]]


def _worker(db, *, user_id: int | None = None, username: str | None = None) -> User:
    user = account_by_id(db, user_id) if user_id is not None else find_account(db, username or "")
    if user is None or user.role != "worker":
        raise NotFound("not_a_worker", _l("There is no active worker device of that name."))
    return user


def assign_cameras(db, camera_ids, *, user_id: int | None = None, username: str | None = None,
                   replace: bool = True) -> list[str]:
    """Set (``replace``) or add to the cameras a worker device may report for; returns them.
    Unknown cameras are refused and nothing changes."""
    worker = _worker(db, user_id=user_id, username=username)
    if not isinstance(camera_ids, (list, tuple)) or len(camera_ids) > 500:
        raise ValidationError("invalid_cameras", _l("Give a list of camera ids."))
    for camera_id in camera_ids:
        get_camera(db, camera_id)   # NotFound('unknown_camera')
    with immediate(db):
        keep = [] if replace else repo.worker_camera_ids(db, worker.id)
        repo.set_worker_cameras(db, worker.id, sorted(set(keep) | set(camera_ids)))
    return repo.worker_camera_ids(db, worker.id)


def unassign_cameras(db, camera_ids, *, username: str) -> list[str]:
    """Take cameras away from a worker device; returns what it keeps."""
    worker = _worker(db, username=username)
    with immediate(db):
        keep = set(repo.worker_camera_ids(db, worker.id)) - set(camera_ids)
        repo.set_worker_cameras(db, worker.id, sorted(keep))
    return sorted(keep)


def camera_workers(db) -> dict[str, list[int]]:
    """camera id -> ids of the worker devices that may report for it."""
    return repo.camera_workers(db)
