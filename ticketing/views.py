"""Ticketing pages: the visitor's booking flow and order page, the sandbox gateway's
checkout page, and the staff console. Views parse input, call one service, render."""
from __future__ import annotations

import csv
import io
import math
import secrets
from datetime import timedelta

from flask import (Blueprint, Response, abort, current_app, flash, make_response, redirect,
                   render_template, request, url_for)
from flask_babel import gettext as _
from markupsafe import Markup

from catalog import interface as catalog
from core.auth import current_user, role_required
from core.clock import get_clock
from core.db import get_db
from core.errors import DomainError
from core.i18n import label
from core.ratelimit import limiter, limits, setting
from core.text import _l

from . import gate_feed, orders, payments, products, qr, quota
from .holders import DOCUMENT_TYPES, MAX_HOLDERS
from .quota import parse_day
from .view_helpers import (admit_booking, bookable_day, grant, guard, order_limit, order_link,
                           owns, parse_int, private_key, provider, sandbox_only, settings)

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
            admit_booking(form.get("altcha"))
            order = orders.create_order(
                db, site_id=site_id, day=parse_day(form.get("date")),
                slot_id=parse_int(form.get("slot_id"), "bad_slot", "a time slot"),
                product_id=form.get("product_id", ""), holders=_holders_from_form(form),
                clock=clock, idempotency_key=form.get("idempotency_key") or None,
                hold_minutes=cfg["hold_minutes"], days_ahead=cfg["days_ahead"], guard=guard())
        except DomainError as exc:
            error, status = exc, exc.status
        else:
            grant(order.number)
            url = payments.start_payment(db, provider(), order.number, clock)
            return redirect(url or order_link(order.number, order.secret))
    try:
        day = bookable_day(request.values.get("date"), clock.now().date())
    except DomainError as exc:
        day, error, status = clock.now().date(), error or exc, exc.status
    days = quota.calendar(db, site_id, clock, cfg["days_ahead"])
    slots = quota.availability(db, site_id, day, clock)
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


def _private(resp):
    # The page's address holds the order's secret: keep it out of caches and Referer headers.
    resp = make_response(resp)
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Referrer-Policy"] = "no-referrer"
    return resp


@bp.get("/tickets/orders/<number>")
def order_by_session(number):
    """The order's old address: the browser that booked (or recovered) it is sent on to the
    order's link; any other browser goes to 'Find my order'."""
    if not owns(number):
        return redirect(url_for("ticketing.find_order"))
    return _private(redirect(order_link(number, orders.order_secret(get_db(), number))))


@bp.get("/tickets/orders/<number>/<secret>")
def order_page(number, secret):
    db, clock = get_db(), get_clock()
    order = orders.open_order(db, number, secret, clock)
    key = private_key()
    qrs = {tk.id: Markup(qr.svg(gate_feed.code_for(db, tk.id, key)))
           for tk in order.tickets if tk.status == "valid"}
    rebook_slots = []
    if order.status == "paid":
        today = clock.now().date()
        for i in range(settings()["days_ahead"]):
            rebook_slots += [s for s in quota.availability(db, order.site_id, today + timedelta(days=i), clock)
                             if s.left and not s.paused]
    return _private(render_template(
        "ticketing/order.html", order=order, qrs=qrs, secret=secret,
        link=order_link(order.number, secret, _external=True), rebook_slots=rebook_slots[:60],
        now=clock.now(), site=catalog.get_site(db, order.site_id)))


def _opened(number, secret, change: bool = True):
    order = orders.open_order(get_db(), number, secret, get_clock())
    if change:
        order_limit(order.number)
    return order


@bp.post("/tickets/orders/<number>/<secret>/pay")
def pay(number, secret):
    _opened(number, secret)
    url = payments.start_payment(get_db(), provider(), number, get_clock())
    return redirect(url or order_link(number, secret))


@bp.get("/tickets/orders/<number>/<secret>/tickets/<int:ticket_id>.png")
def ticket_png(number, secret, ticket_id):
    order = _opened(number, secret, change=False)
    if ticket_id not in {tk.id for tk in order.tickets if tk.status == "valid"}:
        abort(404)
    png = qr.png(gate_feed.code_for(get_db(), ticket_id, private_key()))
    return _private(Response(png, mimetype="image/png", headers={
        "Content-Disposition": f'attachment; filename="ticket-{number}-{ticket_id}.png"'}))


def _change_order(number: str, secret: str, change, done: str):
    """Run a visitor's change to the order the link opens, then show the order again."""
    _opened(number, secret)
    change()
    flash(label(done))
    return redirect(order_link(number, secret))


def _form_ticket_id() -> int:
    return parse_int(request.form.get("ticket_id"), "unknown_ticket", "a ticket")


@bp.post("/tickets/orders/<number>/<secret>/refund")
def refund(number, secret):
    raw = request.form.get("ticket_id", "")
    return _change_order(number, secret, lambda: orders.refund(
        get_db(), number, clock=get_clock(), provider=provider(), actor="visitor",
        ticket_ids=[_form_ticket_id()] if raw else None), "ticketing.refunded_done")


@bp.post("/tickets/orders/<number>/<secret>/rebook")
def rebook(number, secret):
    return _change_order(number, secret, lambda: orders.rebook(
        get_db(), number, clock=get_clock(), ticket_id=_form_ticket_id(),
        slot_id=parse_int(request.form.get("slot_id"), "bad_slot", "a time slot"),
        days_ahead=settings()["days_ahead"]), "ticketing.rebooked_done")


@bp.post("/tickets/orders/<number>/<secret>/reissue")
def reissue(number, secret):
    return _change_order(number, secret, lambda: orders.reissue(
        get_db(), number, clock=get_clock(), actor="visitor", ticket_id=_form_ticket_id()),
        "ticketing.reissued_done")


@bp.route("/tickets/find", methods=["GET", "POST"])
@limiter.shared_limit(setting("TICKETING_RECOVERY_PER_CLIENT"), scope="recovery",
                      methods=["POST"])
def find_order():
    error = None
    if request.method == "POST":
        try:
            order = orders.recover_order(
                get_db(), request.form.get("number", ""), request.form.get("last4", ""),
                get_clock(), limits=limits(),
                failures=current_app.config["TICKETING_RECOVERY_FAILURES_PER_ORDER"])
        except DomainError as exc:
            error = exc
        else:
            grant(order.number)
            return _private(redirect(order_link(order.number, order.secret)))
    resp = make_response(render_template("ticketing/find.html", error=error),
                         error.status if error else 200)
    retry = error.details.get("retry_after_s") if error else None
    if retry:
        resp.headers["Retry-After"] = str(retry)
    return resp


# --- the sandbox gateway's checkout page (what WeChat Pay / Alipay would host) -----------

@bp.route("/ticketing/sandbox/pay/<reference>", methods=["GET", "POST"])
def sandbox_checkout(reference):
    db, clock = get_db(), get_clock()
    sandbox_only()
    pay = payments.sandbox_payment(db, reference)
    if request.method == "POST":
        outcome = request.form.get("outcome", "pay")
        payments.sandbox_complete(db, provider(), reference, outcome == "pay", clock,
                                  inline=current_app.config["TICKETING_SANDBOX_DELIVERY"] == "inline")
        if outcome != "pay":
            flash(_("The payment failed; you can try again before the hold expires."))
        # Back to the order's old address: it forwards the booking browser to the order's link.
        return redirect(url_for("ticketing.order_by_session", number=pay["order_number"]))
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
    slots = quota.availability(db, site_id, day, clock)
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
    flash(_("Sold at the window: order %(number)s", number=order.number))
    return redirect(order_link(order.number, order.secret))


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
