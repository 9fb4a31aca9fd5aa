import click

from .ext import async_command, async_session, db
from .models import Customer
from sqlalchemy import select


def register(app):
    @app.cli.command("rename")
    @click.argument("old")
    @click.argument("new")
    @async_command
    async def rename(old, new):
        customer = (await async_session.scalars(select(Customer).filter_by(name=old))).one()
        customer.name = new
        await async_session.commit()
        await async_session.refresh(customer)
        click.echo("renamed %d" % customer.id)
