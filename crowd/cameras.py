"""Camera records and their counting regions (fields checked by their contracts in
crowd/schemas.py, regions against the frame by crowd.checks)."""
from __future__ import annotations

import json
from dataclasses import dataclass

from catalog import interface as catalog
from core.clock import iso
from core.contracts import validate
from core.db import immediate
from core.errors import Conflict, NotFound, ValidationError
from core.text import _l

from . import checks, repo
from .schemas import CameraIn, RegionIn, RegionsIn

@dataclass(frozen=True)
class Camera:
    id: str
    name: str
    site_id: str
    zone_id: str | None
    source: str
    width: int
    height: int
    tile_rows: int
    tile_cols: int
    tile_overlap: float
    full_frame: bool
    inertia: int
    enabled: bool
    created_at: str
    regions: tuple = ()
    detect_every: int = 1
    wide_rows: int = 0

    @property
    def areas(self) -> list[dict]:
        return [r for r in self.regions if r["kind"] == "area"]

    @property
    def lines(self) -> list[dict]:
        return [r for r in self.regions if r["kind"] == "line"]

    @property
    def source_display(self) -> str:
        """The source with credentials masked (user, password, secret query values)."""
        return checks.mask_source(self.source)

    def to_json(self, with_source: bool = True) -> dict:
        out = {k: getattr(self, k) for k in ("id", "name", "site_id", "zone_id", "width",
                                             "height", "tile_rows", "tile_cols", "tile_overlap",
                                             "full_frame", "inertia", "enabled",
                                             "detect_every", "wide_rows")}
        out["regions"] = [dict(r) for r in self.regions]
        if with_source:
            out["source"] = self.source
        else:
            out["source"] = self.source_display
        return out


def _camera(db, row) -> Camera:
    regions = tuple({"kind": r["kind"], "name": r["name"], "points": json.loads(r["points_json"]),
                     "capacity": r["capacity"]} for r in repo.regions(db, row["id"]))
    return Camera(row["id"], row["name"], row["site_id"], row["zone_id"], row["source"],
                  row["width"], row["height"], row["tile_rows"], row["tile_cols"],
                  row["tile_overlap"], bool(row["full_frame"]), row["inertia"],
                  bool(row["enabled"]), row["created_at"], regions, row["detect_every"],
                  row["wide_rows"])


def list_cameras(db, site_id: str | None = None, enabled_only: bool = False) -> list[Camera]:
    return [_camera(db, r) for r in repo.cameras(db, site_id, enabled_only)]


def get_camera(db, camera_id) -> Camera:
    """One camera with its regions, or NotFound('unknown_camera')."""
    row = repo.camera(db, camera_id) if isinstance(camera_id, str) else None
    if row is None:
        raise NotFound("unknown_camera", _l("There is no camera '%(camera_id)s'.",
                                            camera_id=camera_id))
    return _camera(db, row)


def save_camera(db, data: CameraIn | dict, *, clock, create: bool,
                sources: checks.SourcePolicy = checks.SourcePolicy()) -> Camera:
    """Add or edit a camera (and, if given, its regions); a dict (a form, a data file) is
    checked against the camera's contract first, and the source must be one ``sources``
    allows. An edit that sends back the masked source (as the form shows it) keeps the
    stored one, credentials included."""
    if not isinstance(data, CameraIn):
        data = validate(CameraIn, data)
    values = data.model_dump(exclude={"regions", "csrf_token"})
    values["name"] = values["name"].strip()
    if values["wide_rows"] > values["tile_rows"]:
        raise ValidationError("invalid_number", _l("wide_rows must be a whole number from 0 to "
                                                   "tile_rows (%(rows)s).",
                                                   rows=values["tile_rows"]),
                              details={"field": "wide_rows"})
    if not create:
        row = repo.camera(db, values["id"])
        if row is not None and values["source"] == checks.mask_source(row["source"]):
            values["source"] = row["source"]
    values["source"] = checks.check_source(values["source"], sources)
    catalog.get_site(db, values["site_id"])
    if values["zone_id"] is not None:
        zone = catalog.get_zone(db, values["zone_id"])
        if zone.site_id != values["site_id"]:
            raise ValidationError("zone_not_in_site", _l("That zone belongs to another site."),
                                  details={"field": "zone_id"})
    regions = None
    if data.regions is not None:
        regions = checks.check_regions(data.regions, values["width"], values["height"])
    at = iso(clock.now())
    with immediate(db):
        existing = repo.camera(db, values["id"])
        if create and existing is not None:
            raise Conflict("camera_exists", _l("A camera '%(id)s' already exists.",
                                               id=values['id']))
        if not create and existing is None:
            raise NotFound("unknown_camera", _l("There is no camera '%(id)s'.", id=values['id']))
        if create:
            repo.insert_camera(db, values, at)
        else:
            if regions is None:
                # A smaller frame must not leave old regions outside it.
                current = [{"kind": r["kind"], "name": r["name"],
                            "points": json.loads(r["points_json"]), "capacity": r["capacity"]}
                           for r in repo.regions(db, values["id"])]
                checks.check_regions(_regions(current), values["width"], values["height"])
            repo.update_camera(db, values, at)
        if regions is not None:
            repo.replace_regions(db, values["id"], regions)
    return get_camera(db, values["id"])


def _regions(raw) -> list[RegionIn]:
    """Regions as sent (a form's JSON, an API body) or as stored, checked by their contract."""
    return validate(RegionsIn, {"regions": raw}).regions


def save_regions(db, camera_id: str, regions, *, clock) -> Camera:
    """Replace a camera's counting areas and lines (validated against its frame)."""
    cam = get_camera(db, camera_id)
    checked = checks.check_regions(_regions(regions), cam.width, cam.height)
    with immediate(db):
        repo.replace_regions(db, camera_id, checked)
        repo.touch_camera(db, camera_id, iso(clock.now()))
    return get_camera(db, camera_id)


def delete_camera(db, camera_id: str) -> None:
    get_camera(db, camera_id)
    with immediate(db):
        repo.delete_camera(db, camera_id)
