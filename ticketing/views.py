"""Ticketing pages: the visitor's booking flow and order page, the sandbox gateway's
checkout page, and the staff console. Views parse input, call one service, render."""
from __future__ import annotations

import csv
import io
import math
import secrets
from datetime import timedelta

from flask import (Blueprint, Response, abort, current_app, flash, redirect, render_template,
                   request, url_for)
from flask_babel import gettext as _
from markupsafe import Markup

from catalog import interface as catalog
from core.auth import current_user, role_required
from core.clock import get_clock
from core.db import get_db
from core.errors import DomainError
from core.i18n import label
from core.text import _l

from . import gate_feed, orders, payments, products, qr, quota
from .holders import DOCUMENT_TYPES, MAX_HOLDERS
from .quota import parse_day
from .view_helpers import bookable_day, grant, owns, parse_int, private_key, provider, settings

bp = Blueprint("ticketing", __name__)
MAX_FORM_HOLDERS = MAX_HOLDERS  # one row of the booking form per holder an order may have


def _holders_from_form(form) -> list[dict]:
    holders = []
    for i in range(MAX_FORM_HOLDERS):
        name = form.get(f"holder-{i}-name", "").strip()
        number = form.get(f"holder-{i}-document_number", "").strip()
        if not name and not number:
            continue
        holders.append({"name": name, "document_number": number,
                        "document_type": form.get(f"holder-{i}-document_type", "resident_id"),
                        "fare": form.get(f"holder-{i}-fare", "auto"),
                        "birth_date": form.get(f"holder-{i}-birth_date", "").strip() or None})
    return holders


@bp.get("/tickets")
def index():
    return render_template("ticketing/index.html", sites=catalog.list_sites(get_db()))


@bp.route("/tickets/<site_id>", methods=["GET", "POST"])
def book_site(site_id):
    db, clock = get_db(), get_clock()
    site = catalog.get_site(db, site_id)
    cfg = settings()
    error, status = None, 200
    if request.method == "POST":
        form = request.form
        try:
            order = orders.create_order(
                db, site_id=site_id, day=parse_day(form.get("date")),
                slot_id=parse_int(form.get("slot_id"), "bad_slot", "a time slot"),
                product_id=form.get("product_id", ""), holders=_holders_from_form(form),
                clock=clock, idempotency_key=form.get("idempotency_key") or None,
                hold_minutes=cfg["hold_minutes"], days_ahead=cfg["days_ahead"])
        except DomainError as exc:
            error, status = exc, exc.status
        else:
            grant(order.number)
            url = payments.start_payment(db, provider(), order.number, clock)
            return redirect(url or url_for("ticketing.order_page", number=order.number))
    try:
        day = bookable_day(request.values.get("date"), clock.now().date())
    except DomainError as exc:
        day, error, status = clock.now().date(), error or exc, exc.status
    days = quota.calendar(db, site_id, clock, cfg["days_ahead"])
    slots = quota.availability(db, site_id, day, clock) if site.season_on(day) else []
    slot_id = request.values.get("slot_id", "")
    chosen = next((s for s in slots if str(s.slot_id) == slot_id), None)
    on_sale = products.list_products(db, site_id)
    fares = list({f.id: f for p in on_sale for f in p.fares if f.enabled}.values())
    return render_template("ticketing/book.html", site=site, days=days, day=day, slots=slots,
                           now=clock.now(),
                           chosen=chosen, products=on_sale, fares=fares,
                           doc_types=DOCUMENT_TYPES, error=error, form=request.form,
                           idempotency_key=request.form.get("idempotency_key") or secrets.token_urlsafe(16),
                           max_holders=MAX_FORM_HOLDERS), status


def _owned_order(number):
    if not owns(number):
        return None
    return orders.get_order(get_db(), number, get_clock())


@bp.get("/tickets/orders/<number>")
def order_page(number):
    order = _owned_order(number)
    if order is None:
        return redirect(url_for("ticketing.find_order"))
    db, clock = get_db(), get_clock()
    key = private_key()
    qrs = {tk.id: Markup(qr.svg(gate_feed.code_for(db, tk.id, key)))
           for tk in order.tickets if tk.status == "valid"}
    rebook_slots = []
    if order.status == "paid":
        today = clock.now().date()
        for i in range(settings()["days_ahead"]):
            rebook_slots += [s for s in quota.availability(db, order.site_id, today + timedelta(days=i), clock)
                             if s.left and not s.paused]
    return render_template("ticketing/order.html", order=order, qrs=qrs,
                           rebook_slots=rebook_slots[:60], now=clock.now(),
                           site=catalog.get_site(db, order.site_id))


@bp.post("/tickets/orders/<number>/pay")
def pay(number):
    if _owned_order(number) is None:
        return redirect(url_for("ticketing.find_order"))
    url = payments.start_payment(get_db(), provider(), number, get_clock())
    return redirect(url or url_for("ticketing.order_page", number=number))


@bp.get("/tickets/orders/<number>/tickets/<int:ticket_id>.png")
def ticket_png(number, ticket_id):
    order = _owned_order(number)
    if order is None or ticket_id not in {tk.id for tk in order.tickets if tk.status == "valid"}:
        abort(404)
    png = qr.png(gate_feed.code_for(get_db(), ticket_id, private_key()))
    return Response(png, mimetype="image/png", headers={
        "Content-Disposition": f'attachment; filename="ticket-{number}-{ticket_id}.png"',
        "Cache-Control": "no-store"})


def _change_order(number: str, change, done: str):
    """Run a visitor's change to an order this browser holds, then show the order again."""
    if _owned_order(number) is None:
        return redirect(url_for("ticketing.find_order"))
    change()
    flash(label(done))
    return redirect(url_for("ticketing.order_page", number=number))


def _form_ticket_id() -> int:
    return parse_int(request.form.get("ticket_id"), "unknown_ticket", "a ticket")


@bp.post("/tickets/orders/<number>/refund")
def refund(number):
    raw = request.form.get("ticket_id", "")
    return _change_order(number, lambda: orders.refund(
        get_db(), number, clock=get_clock(), provider=provider(), actor="visitor",
        ticket_ids=[_form_ticket_id()] if raw else None), "ticketing.refunded_done")


@bp.post("/tickets/orders/<number>/rebook")
def rebook(number):
    return _change_order(number, lambda: orders.rebook(
        get_db(), number, clock=get_clock(), ticket_id=_form_ticket_id(),
        slot_id=parse_int(request.form.get("slot_id"), "bad_slot", "a time slot"),
        days_ahead=settings()["days_ahead"]), "ticketing.rebooked_done")


@bp.post("/tickets/orders/<number>/reissue")
def reissue(number):
    return _change_order(number, lambda: orders.reissue(
        get_db(), number, clock=get_clock(), actor="visitor", ticket_id=_form_ticket_id()),
        "ticketing.reissued_done")


@bp.route("/tickets/find", methods=["GET", "POST"])
def find_order():
    error = None
    if request.method == "POST":
        number = request.form.get("number", "").strip().upper()
        try:
            order = orders.find_order(get_db(), number, request.form.get("last4", ""), get_clock())
        except DomainError as exc:
            error = exc
        else:
            grant(order.number)
            return redirect(url_for("ticketing.order_page", number=order.number))
    return render_template("ticketing/find.html", error=error), (error.status if error else 200)


# --- the sandbox gateway's checkout page (what WeChat Pay / Alipay would host) -----------

@bp.route("/ticketing/sandbox/pay/<reference>", methods=["GET", "POST"])
def sandbox_checkout(reference):
    db, clock = get_db(), get_clock()
    pay = payments.sandbox_payment(db, reference)
    if request.method == "POST":
        outcome = request.form.get("outcome", "pay")
        payments.sandbox_complete(db, provider(), reference, outcome == "pay", clock,
                                  inline=current_app.config["TICKETING_SANDBOX_DELIVERY"] == "inline")
        if outcome != "pay":
            flash(_("The payment failed; you can try again before the hold expires."))
        return redirect(url_for("ticketing.order_page", number=pay["order_number"]))
    return render_template("ticketing/sandbox.html", pay=pay, reference=reference)


# --- staff ------------------------------------------------------------------------

def _actor() -> str:
    return f"staff:{current_user().username}"


@bp.get("/staff/tickets")
@role_required("staff")
def staff_overview():
    db, clock = get_db(), get_clock()
    sites = catalog.list_sites(db)
    site_id = request.args.get("site") or sites[0].id
    site = catalog.get_site(db, site_id)
    day = parse_day(request.args.get("date"), clock.now().date())
    slots = quota.availability(db, site_id, day, clock) if site.season_on(day) else []
    return render_template(
        "ticketing/staff.html", sites=sites, site=site, day=day, slots=slots,
        pauses=quota.pauses(db, site_id), history=quota.pause_history(db, site_id, 10),
        policy=quota.get_policy(db, site_id), products=products.list_products(db, None, False),
        all_products=products.list_products(db, site_id), fares=products.list_fares(db),
        doc_types=DOCUMENT_TYPES, is_admin=current_user().has_role("admin"),
        events=payments.recent_payment_events(db, 10))


def _back(site_id, day=None):
    return redirect(url_for("ticketing.staff_overview", site=site_id, date=day or None))


def _saved(site_id, day=None):
    flash(_("Saved."))
    return _back(site_id, day)


def _change_sales(change, **extra):
    """Pause or resume (``change``) a site's sales, or one slot's, from the staff form."""
    f = request.form
    slot = parse_int(f["slot_id"], "unknown_slot", "a slot") if f.get("slot_id") else None
    change(get_db(), site_id=f.get("site_id", ""), actor=_actor(), clock=get_clock(),
           slot_id=slot, **extra)
    return _back(f.get("site_id"), f.get("date"))


@bp.post("/staff/tickets/pause")
@role_required("staff")
def staff_pause():
    return _change_sales(quota.pause_sales, reason=request.form.get("reason", ""))


@bp.post("/staff/tickets/resume")
@role_required("staff")
def staff_resume():
    return _change_sales(quota.resume_sales)


@bp.post("/staff/tickets/window-sale")
@role_required("staff")
def staff_window_sale():
    f = request.form
    order = orders.create_order(
        get_db(), site_id=f.get("site_id", ""), day=parse_day(f.get("date")),
        slot_id=parse_int(f.get("slot_id"), "bad_slot", "a time slot"),
        product_id=f.get("product_id", ""), holders=_holders_from_form(f), clock=get_clock(),
        channel="window", idempotency_key=f.get("idempotency_key") or None,
        days_ahead=settings()["days_ahead"], actor=_actor())
    grant(order.number)
    flash(_("Sold at the window: order %(number)s", number=order.number))
    return redirect(url_for("ticketing.order_page", number=order.number))


@bp.post("/staff/tickets/quota")
@role_required("staff")
def staff_quota():
    f = request.form
    quota.set_slot_quota(get_db(), parse_int(f.get("slot_id"), "unknown_slot", "a slot"),
                         quota=parse_int(f.get("quota"), "bad_quota", "a quota"),
                         window_quota=parse_int(f.get("window_quota"), "bad_quota", "a quota"),
                         clock=get_clock(), actor=_actor())
    return _saved(f.get("site_id"), f.get("date"))


def _form_number(name: str) -> float | None:
    """A decimal form field; None for anything else, infinities and NaN included (the
    service then refuses the value with its own code)."""
    try:
        value = float(request.form.get(name, ""))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


@bp.post("/staff/tickets/policy")
@role_required("staff")
def staff_policy():
    f = request.form
    quota.set_policy(get_db(), f.get("site_id", ""),   # a share of None is refused there
                     slot_minutes=parse_int(f.get("slot_minutes"), "bad_slot_minutes",
                                            "a slot length in minutes"),
                     reserved_share=_form_number("reserved_share"), actor=_actor(),
                     clock=get_clock())
    return _saved(f.get("site_id"))


@bp.post("/admin/tickets/products")
@role_required("admin")
def admin_products():
    f = request.form
    yuan = _form_number("price_yuan")
    price_fen = -1 if yuan is None else int(round(yuan * 100))   # -1 is refused: bad_price
    products.update_product(get_db(), f.get("product_id", ""), price_fen=price_fen,
                            active=f.get("active") == "1")
    return _saved(f.get("site_id"))


@bp.post("/admin/tickets/fares")
@role_required("admin")
def admin_fares():
    f = request.form
    products.set_fare_enabled(get_db(), f.get("fare_id", ""), f.get("enabled") == "1")
    return _saved(f.get("site_id"))


@bp.get("/staff/tickets/report.csv")
@role_required("staff")
def staff_report():
    db, clock = get_db(), get_clock()
    site_id = request.args.get("site", "")
    catalog.get_site(db, site_id)
    first = parse_day(request.args.get("from"), clock.now().date())
    last = parse_day(request.args.get("to"), first)
    if last < first or (last - first).days > 366:
        raise DomainError("bad_range", _l("Choose a range of up to a year, start before end."))
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["site", "date", "slot_start", "slot_end", "online_quota", "window_reserve",
                "sold_online", "sold_window", "held", "refunded", "revenue_cny"])
    for r in quota.report(db, site_id, first, last):
        w.writerow([site_id, r["day"], r["start_at"][11:16], r["end_at"][11:16], r["quota"],
                    r["window_quota"], r["sold_online"] or 0, r["sold_window"] or 0,
                    r["held"] or 0, r["refunded"] or 0, f"{r['revenue_fen'] / 100:.2f}"])
    name = f"tickets-{site_id}-{first}-{last}.csv"
    return Response("\ufeff" + buf.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
