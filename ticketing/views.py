"""Ticketing pages: the visitor's booking flow and order page, the sandbox gateway's
checkout page, and the staff console. Views parse input, call one service, render."""
from __future__ import annotations

import csv
import io
import secrets
from datetime import timedelta

import click
from flask import (Blueprint, Response, abort, current_app, flash, redirect, render_template,
                   request, url_for)
from flask_babel import gettext
from markupsafe import Markup

from catalog import services as catalog
from core.auth import current_user, role_required
from core.clock import get_clock
from core.db import get_db
from core.errors import DomainError
from core.text import _l

from . import orders, qr, services, web
from .identity import DOCUMENT_TYPES

bp = Blueprint("ticketing", __name__)
MAX_FORM_HOLDERS = 5


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
    cfg = web.settings()
    error, status = None, 200
    if request.method == "POST":
        form = request.form
        try:
            order = orders.create_order(
                db, site_id=site_id, day=web.parse_day(form.get("date")),
                slot_id=web.parse_int(form.get("slot_id"), "bad_slot", "a time slot"),
                product_id=form.get("product_id", ""), holders=_holders_from_form(form),
                clock=clock, idempotency_key=form.get("idempotency_key") or None,
                hold_minutes=cfg["hold_minutes"], days_ahead=cfg["days_ahead"])
        except DomainError as exc:
            error, status = exc, exc.status
        else:
            web.grant(order.number)
            url = orders.start_payment(db, web.provider(), order.number, clock)
            return redirect(url or url_for("ticketing.order_page", number=order.number))
    try:
        day = web.bookable_day(request.values.get("date"), clock.now().date())
    except DomainError as exc:
        day, error, status = clock.now().date(), error or exc, exc.status
    days = services.calendar(db, site_id, clock, cfg["days_ahead"])
    slots = services.availability(db, site_id, day, clock) if site.season_on(day) else []
    slot_id = request.values.get("slot_id", "")
    chosen = next((s for s in slots if str(s.slot_id) == slot_id), None)
    products = services.list_products(db, site_id)
    fares = list({f.id: f for p in products for f in p.fares if f.enabled}.values())
    return render_template("ticketing/book.html", site=site, days=days, day=day, slots=slots,
                           now=clock.now(),
                           chosen=chosen, products=products, fares=fares,
                           doc_types=DOCUMENT_TYPES, error=error, form=request.form,
                           idempotency_key=request.form.get("idempotency_key") or secrets.token_urlsafe(16),
                           max_holders=MAX_FORM_HOLDERS), status


def _owned_order(number):
    if not web.owns(number):
        return None
    return orders.get_order(get_db(), number, get_clock())


@bp.get("/tickets/orders/<number>")
def order_page(number):
    order = _owned_order(number)
    if order is None:
        return redirect(url_for("ticketing.find_order"))
    db, clock = get_db(), get_clock()
    key = web.private_key()
    qrs = {tk.id: Markup(qr.svg(services.code_for(db, tk.id, key)))
           for tk in order.tickets if tk.status == "valid"}
    rebook_slots = []
    if order.status == "paid":
        today = clock.now().date()
        for i in range(web.settings()["days_ahead"]):
            rebook_slots += [s for s in services.availability(db, order.site_id, today + timedelta(days=i), clock)
                             if s.left and not s.paused]
    return render_template("ticketing/order.html", order=order, qrs=qrs,
                           rebook_slots=rebook_slots[:60], now=clock.now(),
                           site=catalog.get_site(db, order.site_id))


@bp.post("/tickets/orders/<number>/pay")
def pay(number):
    if _owned_order(number) is None:
        return redirect(url_for("ticketing.find_order"))
    url = orders.start_payment(get_db(), web.provider(), number, get_clock())
    return redirect(url or url_for("ticketing.order_page", number=number))


@bp.get("/tickets/orders/<number>/tickets/<int:ticket_id>.png")
def ticket_png(number, ticket_id):
    order = _owned_order(number)
    if order is None or ticket_id not in {tk.id for tk in order.tickets if tk.status == "valid"}:
        abort(404)
    png = qr.png(services.code_for(get_db(), ticket_id, web.private_key()))
    return Response(png, mimetype="image/png", headers={
        "Content-Disposition": f'attachment; filename="ticket-{number}-{ticket_id}.png"',
        "Cache-Control": "no-store"})


@bp.post("/tickets/orders/<number>/refund")
def refund(number):
    if _owned_order(number) is None:
        return redirect(url_for("ticketing.find_order"))
    raw = request.form.get("ticket_id", "")
    ids = [web.parse_int(raw, "unknown_ticket", "a ticket")] if raw else None
    orders.refund(get_db(), number, clock=get_clock(), provider=web.provider(), ticket_ids=ids,
                  actor="visitor")
    flash(gettext("Refunded; the money goes back to where it came from."))
    return redirect(url_for("ticketing.order_page", number=number))


@bp.post("/tickets/orders/<number>/rebook")
def rebook(number):
    if _owned_order(number) is None:
        return redirect(url_for("ticketing.find_order"))
    orders.rebook(get_db(), number, clock=get_clock(),
                  ticket_id=web.parse_int(request.form.get("ticket_id"), "unknown_ticket", "a ticket"),
                  slot_id=web.parse_int(request.form.get("slot_id"), "bad_slot", "a time slot"),
                  days_ahead=web.settings()["days_ahead"])
    flash(gettext("Moved; a new QR code replaces the old one."))
    return redirect(url_for("ticketing.order_page", number=number))


@bp.post("/tickets/orders/<number>/reissue")
def reissue(number):
    if _owned_order(number) is None:
        return redirect(url_for("ticketing.find_order"))
    orders.reissue(get_db(), number, clock=get_clock(), actor="visitor",
                   ticket_id=web.parse_int(request.form.get("ticket_id"), "unknown_ticket", "a ticket"))
    flash(gettext("A new QR code replaces the old one."))
    return redirect(url_for("ticketing.order_page", number=number))


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
            web.grant(order.number)
            return redirect(url_for("ticketing.order_page", number=order.number))
    return render_template("ticketing/find.html", error=error), (error.status if error else 200)


# --- the sandbox gateway's checkout page (what WeChat Pay / Alipay would host) -----------

@bp.route("/ticketing/sandbox/pay/<reference>", methods=["GET", "POST"])
def sandbox_checkout(reference):
    db, clock = get_db(), get_clock()
    pay = orders.sandbox_payment(db, reference)
    if request.method == "POST":
        outcome = request.form.get("outcome", "pay")
        orders.sandbox_complete(db, web.provider(), reference, outcome == "pay", clock,
                                inline=current_app.config["TICKETING_SANDBOX_DELIVERY"] == "inline")
        if outcome != "pay":
            flash(gettext("The payment failed; you can try again before the hold expires."))
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
    day = web.parse_day(request.args.get("date"), clock.now().date())
    slots = services.availability(db, site_id, day, clock) if site.season_on(day) else []
    return render_template(
        "ticketing/staff.html", sites=sites, site=site, day=day, slots=slots,
        pauses=services.pauses(db, site_id), history=services.pause_history(db, site_id, 10),
        policy=services.get_policy(db, site_id), products=services.list_products(db, None, False),
        all_products=services.list_products(db, site_id), fares=services.list_fares(db),
        doc_types=DOCUMENT_TYPES, is_admin=current_user().has_role("admin"),
        events=orders.recent_payment_events(db, 10))


def _back(site_id, day=None):
    return redirect(url_for("ticketing.staff_overview", site=site_id, date=day or None))


@bp.post("/staff/tickets/pause")
@role_required("staff")
def staff_pause():
    f = request.form
    slot = web.parse_int(f["slot_id"], "unknown_slot", "a slot") if f.get("slot_id") else None
    services.pause_sales(get_db(), site_id=f.get("site_id", ""), reason=f.get("reason", ""),
                         actor=_actor(), clock=get_clock(), slot_id=slot)
    return _back(f.get("site_id"), f.get("date"))


@bp.post("/staff/tickets/resume")
@role_required("staff")
def staff_resume():
    f = request.form
    slot = web.parse_int(f["slot_id"], "unknown_slot", "a slot") if f.get("slot_id") else None
    services.resume_sales(get_db(), site_id=f.get("site_id", ""), actor=_actor(),
                          clock=get_clock(), slot_id=slot)
    return _back(f.get("site_id"), f.get("date"))


@bp.post("/staff/tickets/window-sale")
@role_required("staff")
def staff_window_sale():
    f = request.form
    order = orders.create_order(
        get_db(), site_id=f.get("site_id", ""), day=web.parse_day(f.get("date")),
        slot_id=web.parse_int(f.get("slot_id"), "bad_slot", "a time slot"),
        product_id=f.get("product_id", ""), holders=_holders_from_form(f), clock=get_clock(),
        channel="window", idempotency_key=f.get("idempotency_key") or None,
        days_ahead=web.settings()["days_ahead"], actor=_actor())
    web.grant(order.number)
    flash(gettext("Sold at the window: order %(number)s", number=order.number))
    return redirect(url_for("ticketing.order_page", number=order.number))


@bp.post("/staff/tickets/quota")
@role_required("staff")
def staff_quota():
    f = request.form
    services.set_slot_quota(get_db(), web.parse_int(f.get("slot_id"), "unknown_slot", "a slot"),
                            quota=web.parse_int(f.get("quota"), "bad_quota", "a quota"),
                            window_quota=web.parse_int(f.get("window_quota"), "bad_quota", "a quota"),
                            clock=get_clock(), actor=_actor())
    flash(gettext("Saved."))
    return _back(f.get("site_id"), f.get("date"))


@bp.post("/staff/tickets/policy")
@role_required("staff")
def staff_policy():
    f = request.form
    try:
        share = float(f.get("reserved_share", ""))
    except ValueError:
        share = -1.0
    services.set_policy(get_db(), f.get("site_id", ""),
                        slot_minutes=web.parse_int(f.get("slot_minutes"), "bad_slot_minutes",
                                                   "a slot length in minutes"),
                        reserved_share=share, actor=_actor(), clock=get_clock())
    flash(gettext("Saved."))
    return _back(f.get("site_id"))


@bp.post("/admin/tickets/products")
@role_required("admin")
def admin_products():
    f = request.form
    try:
        yuan = round(float(f.get("price_yuan", "")) * 100)
    except ValueError:
        yuan = -1
    services.update_product(get_db(), f.get("product_id", ""), price_fen=int(yuan),
                            active=f.get("active") == "1")
    flash(gettext("Saved."))
    return _back(f.get("site_id"))


@bp.post("/admin/tickets/fares")
@role_required("admin")
def admin_fares():
    f = request.form
    services.set_fare_enabled(get_db(), f.get("fare_id", ""), f.get("enabled") == "1")
    flash(gettext("Saved."))
    return _back(f.get("site_id"))


@bp.get("/staff/tickets/report.csv")
@role_required("staff")
def staff_report():
    db, clock = get_db(), get_clock()
    site_id = request.args.get("site", "")
    catalog.get_site(db, site_id)
    first = web.parse_day(request.args.get("from"), clock.now().date())
    last = web.parse_day(request.args.get("to"), first)
    if last < first or (last - first).days > 366:
        raise DomainError("bad_range", _l("Choose a range of up to a year, start before end."))
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["site", "date", "slot_start", "slot_end", "online_quota", "window_reserve",
                "sold_online", "sold_window", "held", "refunded", "revenue_cny"])
    for r in services.report(db, site_id, first, last):
        w.writerow([site_id, r["day"], r["start_at"][11:16], r["end_at"][11:16], r["quota"],
                    r["window_quota"], r["sold_online"] or 0, r["sold_window"] or 0,
                    r["held"] or 0, r["refunded"] or 0, f"{r['revenue_fen'] / 100:.2f}"])
    name = f"tickets-{site_id}-{first}-{last}.csv"
    return Response("\ufeff" + buf.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# --- commands -----------------------------------------------------------------------

@bp.cli.command("expire-holds")
@click.option("--every", type=click.IntRange(min=1), default=None,
              help="Repeat every N seconds until stopped (SIGTERM/Ctrl-C).")
def expire_holds_command(every):
    """Release holds whose payment time is up (safe to run any time, e.g. every minute)."""
    import signal
    import threading

    from core.db import connect
    stop = threading.Event()
    if every:
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    while True:
        db = connect(current_app.config["DATABASE"])
        try:
            n = services.expire_holds(db, current_app.extensions["scenic.clock"])
        finally:
            db.conn.close()
        click.echo(f"expired holds: {n}")
        if not every:
            return
        try:
            if stop.wait(every):
                return
        except KeyboardInterrupt:
            return


@bp.cli.command("sandbox-deliver")
@click.option("--url", default=None, help="Base URL of the app (default http://HOST:PORT).")
@click.option("--redeliver", is_flag=True, help="Send every notification again (duplicates).")
@click.option("--every", type=click.IntRange(min=1), default=None,
              help="Repeat every N seconds until stopped (SIGTERM/Ctrl-C).")
def sandbox_deliver_command(url, redeliver, every):
    """Play the sandbox gateway: POST its queued signed notifications to our webhook."""
    import signal
    import threading

    from core.db import connect
    cfg = current_app.config
    base = url or f"http://{cfg['HOST']}:{cfg['PORT']}"
    stop = threading.Event()
    if every:
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    while True:
        db = connect(cfg["DATABASE"])
        try:
            result = orders.sandbox_deliver(db, base, current_app.extensions["scenic.clock"],
                                            redeliver=redeliver)
        finally:
            db.conn.close()
        if not every or result["delivered"] or result["failed"]:
            click.echo(f"sandbox notifications: {result}")
        if not every or stop.wait(every):
            return


@bp.cli.command("load-products")
@click.option("--update", is_flag=True, help="Overwrite admin edits with the data file.")
def load_products_command(update):
    """Load ticket products and fare rules from data/ticketing/products.json."""
    from core.db import connect, immediate
    from .products import load_products
    db = connect(current_app.config["DATABASE"])
    try:
        with immediate(db):
            counts = load_products(db, update=update)
    finally:
        db.conn.close()
    click.echo(f"products loaded: {counts}")


from .api import api as _api  # noqa: E402

EXTRA_BLUEPRINTS = [_api]
