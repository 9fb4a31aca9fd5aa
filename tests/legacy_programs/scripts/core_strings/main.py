"""Core code of a 1.3 service: SQL built at run time, a pool listener given the
driver's connection, column lists built in loops, results read by name."""

import os
import tempfile

import sqlalchemy as sa
from sqlalchemy import event, func, select

DB = os.path.join(tempfile.mkdtemp(), "strings.db")
engine = sa.create_engine("sqlite:///" + DB)
metadata = sa.MetaData(bind=engine)

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(20)),
    sa.Column("state", sa.String(10)),
    sa.Column("runs", sa.Integer),
)


def on_connect(connection, record):
    # the driver's own connection: sqlite3's execute()
    connection.execute("pragma foreign_keys = on")


event.listen(engine.pool, "connect", on_connect)

TABLE = "jobs"


def fill():
    metadata.create_all()
    sql = "INSERT INTO " + TABLE + " (name, state, runs) VALUES (?, ?, ?)"
    engine.execute(sql, ("build", "done", 3))
    engine.execute(sql, ("test", "failed", 1))
    sql = str(select([jobs.c.name]).where(jobs.c.name == "build"))
    engine.execute("INSERT INTO jobs (name, state, runs) VALUES ('deploy', 'queued', 0)")
    return [r[0] for r in engine.execute(sql, ("build",))]


def columns(names):
    cols = []
    for c in jobs.columns:
        if c.name in names:
            cols.append(c)
    q = select(cols, jobs.c.runs > 0, order_by=[jobs.c.name])
    return [tuple(r) for r in engine.execute(q)]


def states(wanted):
    with engine.connect() as conn:
        if wanted:
            res = conn.execute(select([jobs.c.name]).where(jobs.c.state.in_(wanted)))
            found = sorted(row["name"] for row in res)
        else:
            found = []
        res = conn.execute(select([jobs.c.state]))
        return found, sorted({row["state"] for row in res})


def busy():
    sql = """SELECT name, runs FROM jobs WHERE runs >= ? ORDER BY runs DESC"""
    results = engine.execute(sql, (1,))
    names = []
    for row in results:
        names.append("%s:%d" % (row["name"], row["runs"]))
    return names


def total_runs():
    q = select([func.sum(jobs.c.runs)])
    q = q.where(jobs.c.state != "queued")
    return q.execute().scalar()


def foreign_keys():
    return engine.execute("pragma foreign_keys").scalar()


if __name__ == "__main__":
    print(fill())
    print(columns({"name", "runs"}))
    print(states(["done", "queued"]))
    print(busy())
    print(total_runs())
    print(foreign_keys())
