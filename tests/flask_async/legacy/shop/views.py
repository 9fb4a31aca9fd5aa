from flask import Blueprint, jsonify, render_template, request

from .ext import db
from .models import Customer, Order

bp = Blueprint("shop", __name__)


@bp.route("/customers", methods=["POST"])
def add_customer():
    customer = Customer(name=request.json["name"])
    db.session.add(customer)
    db.session.commit()
    return jsonify(id=customer.id), 201


@bp.route("/customers/<int:id>")
def customer(id):
    customer = Customer.query.get_or_404(id)
    return jsonify(
        name=customer.name,
        orders=customer.order_count(),
        big=[o.total for o in customer.big_orders(50)],
    )


@bp.route("/customers/<name>/orders", methods=["POST"])
def add_order(name):
    customer = Customer.query.filter_by(name=name).first_or_404()
    order = Order(total=request.json["total"], customer=customer)
    db.session.add(order)
    db.session.commit()
    return jsonify(id=order.id), 201


@bp.route("/orders")
def orders():
    page = Order.query.order_by(Order.id).paginate(per_page=2)
    return jsonify(totals=[o.total for o in page.items], total=page.total, has_next=page.has_next)


@bp.route("/orders/report")
def report():
    orders = Order.query.order_by(Order.total.desc()).all()
    return render_template("report.html", orders=orders)
