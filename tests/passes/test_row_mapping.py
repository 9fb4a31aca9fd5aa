"""row-mapping: name-based row access goes through row._mapping."""

from tests.harness import check_noop, check_transformed

HEAD = "from sqlalchemy import create_engine, select\nengine = create_engine('sqlite://')\n"


def test_iterated_rows_by_name() -> None:
    check_transformed(
        HEAD
        + "def f(users):\n    with engine.connect() as conn:\n        for row in conn.execute(select(users)):\n            print(row['name'], row[users.c.id], dict(row), row.keys(), 'name' in row, row[0], row.name)\n",
        HEAD
        + "def f(users):\n    with engine.connect() as conn:\n        for row in conn.execute(select(users)):\n            print(row._mapping['name'], row._mapping[users.c.id], dict(row._mapping), row._mapping.keys(), 'name' in row._mapping, row[0], row.name)\n",
    )


def test_fetchone_and_fetchall_rows() -> None:
    check_transformed(
        HEAD
        + "def f(users):\n    with engine.connect() as conn:\n        one = conn.execute(select(users)).fetchone()\n        rows = conn.execute(select(users)).fetchall()\n        return one['name'], rows[0]['name']\n",
        HEAD
        + "def f(users):\n    with engine.connect() as conn:\n        one = conn.execute(select(users)).fetchone()\n        rows = conn.execute(select(users)).fetchall()\n        return one._mapping['name'], rows[0]._mapping['name']\n",
    )


def test_non_rows_untouched() -> None:
    check_noop(
        HEAD
        + "def f(users, data, session):\n    for row in data:\n        print(row['name'])\n    item = {'a': 1}\n    with engine.connect() as conn:\n        for row in conn.execute(select(users)).scalars():\n            print(row)\n    return item['a'], dict(item)\n"
    )


def test_rows_of_a_result_held_in_a_variable() -> None:
    check_transformed(
        HEAD
        + "def f(users):\n    with engine.connect() as conn:\n        result = conn.execute(select(users))\n        row = result.fetchone()\n        print(row['name'], row.keys())\n        rest = conn.execute(select(users))\n        for other in rest:\n            print(dict(other))\n",
        HEAD
        + "def f(users):\n    with engine.connect() as conn:\n        result = conn.execute(select(users))\n        row = result.fetchone()\n        print(row._mapping['name'], row._mapping.keys())\n        rest = conn.execute(select(users))\n        for other in rest:\n            print(dict(other._mapping))\n",
    )


def test_result_variable_bound_twice_untouched() -> None:
    check_noop(
        HEAD
        + "def f(users, data):\n    result = data\n    with engine.connect() as conn:\n        result = conn.execute(select(users))\n    for row in result:\n        print(row['name'])\n"
    )


def test_name_rebound_in_straight_line_code() -> None:
    check_transformed(
        HEAD
        + "conn = engine.connect()\nr = conn.execute(select(users)).scalar()\nprint(r)\nr = conn.execute(select(users)).fetchone()\nprint(r['name'], list(r.keys()))\nr = {'name': 1}\nprint(r['name'])\n",
        HEAD
        + "conn = engine.connect()\nr = conn.execute(select(users)).scalar()\nprint(r)\nr = conn.execute(select(users)).fetchone()\nprint(r._mapping['name'], list(r._mapping.keys()))\nr = {'name': 1}\nprint(r['name'])\n",
    )


def test_name_rebound_inside_a_loop_untouched() -> None:
    check_noop(
        HEAD
        + "def f(users, conn):\n    r = None\n    for i in range(2):\n        r = conn.execute(select(users)).fetchone()\n        print(r['name'])\n        r = {'name': i}\n    if r:\n        r = {'name': 2}\n    print(r['name'])\n"
    )
