from flask import Blueprint, jsonify, render_template, request

from .ext import async_session, db, first_or_404, get_or_404, paginate
from .models import Customer, Order
from sqlalchemy import select
from sqlalchemy.orm import joinedload

bp = Blueprint("shop", __name__)


@bp.route("/customers", methods=["POST"])
async def add_customer():
    customer = Customer(name=request.json["name"])
    async_session.add(customer)
    await async_session.commit()
    await async_session.refresh(customer)
    return jsonify(id=customer.id), 201


@bp.route("/customers/<int:id>")
async def customer(id):
    customer = await get_or_404(Customer, id)
    return jsonify(
        name=customer.name,
        orders=await customer.order_count(),
        big=[o.total for o in await customer.big_orders(50)],
    )


@bp.route("/customers/<name>/orders", methods=["POST"])
async def add_order(name):
    customer = await first_or_404(select(Customer).filter_by(name=name).limit(1))
    order = Order(total=request.json["total"], customer=customer)
    async_session.add(order)
    await async_session.commit()
    await async_session.refresh(order)
    return jsonify(id=order.id), 201


@bp.route("/orders")
async def orders():
    page = await paginate(select(Order).order_by(Order.id), per_page=2)
    return jsonify(totals=[o.total for o in page.items], total=page.total, has_next=page.has_next)


@bp.route("/orders/report")
async def report():
    orders = (await async_session.scalars(select(Order).order_by(Order.total.desc()).options(joinedload(Order.customer)))).all()
    return render_template("report.html", orders=orders)
