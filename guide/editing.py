"""Staff editing of a point at /admin/guide: names, short text, narration paragraphs and
facts each with the sources they rest on, related questions, position and zone.

The form names each paragraph ``para_zh_N`` / ``para_en_N`` / ``para_sources_N`` and each
fact ``fact_zh_N`` / ``fact_en_N`` / ``fact_sources_N``, with their counts in
``paragraphs`` and ``facts``; a row left wholly empty is dropped, so the form's spare
empty row adds one. Every paragraph and fact keeps citing at least one known source.
"""
from __future__ import annotations

import json
import re

from catalog import interface as catalog
from core.db import immediate
from core.errors import ValidationError
from core.text import _l

from . import content, repo
from .content import LIMITS, get_poi


def _required(form, name: str, limit: int) -> str:
    value = (form.get(name) or "").strip()
    if not value:
        raise ValidationError("field_required", _l("%(name)s may not be empty.", name=name))
    if len(value) > limit:
        raise ValidationError("field_too_long", _l("%(name)s may be up to %(limit)s characters.",
                                                   name=name, limit=limit))
    return value


def _count(form, name: str, limit: int) -> int:
    raw = (form.get(name) or "0").strip()
    return min(int(raw), limit + 1) if raw.isdigit() else 0


def _cited_rows(form, prefix: str, count_field: str, label: str, limit: int, max_rows: int,
                known: set) -> list[dict]:
    rows = []
    for i in range(_count(form, count_field, max_rows)):
        zh = (form.get(f"{prefix}_zh_{i}") or "").strip()
        en = (form.get(f"{prefix}_en_{i}") or "").strip()
        cited = [c for c in re.split(r"[\s,，;；]+", form.get(f"{prefix}_sources_{i}") or "")
                 if c]
        if not zh and not en and not cited:
            continue
        where = f"{label} {i + 1}"
        if not zh or not en:
            raise ValidationError("unpaired_lines", _l("%(where)s: give it in Chinese and in "
                                                       "English; both say the same thing.",
                                                       where=where))
        for lang, text in (("zh", zh), ("en", en)):
            if len(text) > limit:
                raise ValidationError("field_too_long", _l("%(where)s (%(lang)s) may be up to "
                                                           "%(limit)s characters.", where=where,
                                                           lang=lang, limit=limit))
        unknown = [c for c in cited if c not in known]
        if unknown or not cited:
            raise ValidationError("unknown_source", _l(
                "%(where)s: cite the sources it rests on by their ids (unknown: %(ids)s).",
                where=where, ids=", ".join(unknown) or "-"))
        rows.append({"zh": zh, "en": en, "sources": list(dict.fromkeys(cited))})
    if len(rows) > max_rows:
        raise ValidationError("bad_content", _l("At most %(max_rows)s %(label)ss.",
                                                max_rows=max_rows, label=label))
    return rows


def _question_lines(form) -> list[dict]:
    zh = [line.strip() for line in (form.get("questions_zh") or "").splitlines() if line.strip()]
    en = [line.strip() for line in (form.get("questions_en") or "").splitlines() if line.strip()]
    if len(zh) != len(en):
        raise ValidationError("unpaired_lines", _l("questions: give the same number of lines in "
                                                   "Chinese (%(zh_lines)s) and English "
                                                   "(%(en_lines)s); line N of each says the same "
                                                   "thing.", zh_lines=len(zh), en_lines=len(en)))
    if len(zh) > LIMITS["questions"] or any(len(x) > LIMITS["question"] for x in zh + en):
        raise ValidationError("bad_content", _l("questions: at most %(questions)s lines of "
                                                "%(question)s characters.",
                                                questions=LIMITS['questions'],
                                                question=LIMITS['question']))
    return [{"zh": a, "en": b} for a, b in zip(zh, en)]


def update_poi(db, poi_id: str, form, *, user, clock) -> content.Poi:
    """Save a staff edit of a point; every change is logged (who, when, which fields)."""
    poi = get_poi(db, poi_id)
    fields = {f"{name}_{lang}": _required(form, f"{name}_{lang}", LIMITS[name])
              for name in ("name", "short") for lang in ("zh", "en")}
    known = set(content.sources(db))
    paragraphs = _cited_rows(form, "para", "paragraphs", "paragraph", LIMITS["paragraph"],
                             LIMITS["paragraphs"], known)
    if not paragraphs:
        raise ValidationError("field_required", _l("Keep at least one narration paragraph."))
    facts = _cited_rows(form, "fact", "facts", "fact", LIMITS["fact"], LIMITS["facts"], known)
    lat, lon = content.check_coordinates(form.get("lat"), form.get("lon"), poi.id)
    zone_id = (form.get("zone_id") or "").strip() or None
    if zone_id is not None and zone_id not in {z.id for z in catalog.list_zones(db, poi.site_id)}:
        raise ValidationError("unknown_zone", _l("Zone %(zone_id)r is not part of this site.",
                                                 zone_id=zone_id))
    dump = lambda v: json.dumps(v, ensure_ascii=False)  # noqa: E731
    fields.update(
        long_zh="\n\n".join(p["zh"] for p in paragraphs),
        long_en="\n\n".join(p["en"] for p in paragraphs),
        paragraphs_json=dump(paragraphs), facts_json=dump(facts),
        questions_json=dump(_question_lines(form)),
        sources_json=dump(sorted({s for b in paragraphs + facts for s in b["sources"]})),
        lat=lat, lon=lon, zone_id=zone_id)
    old = {"name_zh": poi.name["zh"], "name_en": poi.name["en"], "short_zh": poi.short["zh"],
           "short_en": poi.short["en"], "paragraphs_json": dump(list(poi.paragraphs)),
           "facts_json": dump(list(poi.facts)), "questions_json": dump(list(poi.questions)),
           "lat": poi.lat, "lon": poi.lon, "zone_id": poi.zone_id}
    changed = sorted(k for k in old if old[k] != fields[k])
    if not changed:
        return poi
    now = clock.now().isoformat(timespec="seconds")
    with immediate(db):
        repo.update_poi_fields(db, poi.id, fields, at=now, username=user.username)
        repo.log_edit(db, poi_id=poi.id, action="edit", fields=",".join(changed),
                      username=user.username, at=now)
    return get_poi(db, poi.id)
