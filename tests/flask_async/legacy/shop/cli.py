import click

from .ext import db
from .models import Customer


def register(app):
    @app.cli.command("rename")
    @click.argument("old")
    @click.argument("new")
    def rename(old, new):
        customer = Customer.query.filter_by(name=old).one()
        customer.name = new
        db.session.commit()
        click.echo("renamed %d" % customer.id)
