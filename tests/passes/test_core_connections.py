"""Core code in 1.3 style: SQL strings built at run time, driver connections handed to
pool-event listeners, connections opened in a branch or handed to a callback."""

from __future__ import annotations

from pathlib import Path

from sqla_upgrade.api import migrate_source
from tests.harness import check_noop, check_transformed, exec_module

ENGINE = "from sqlalchemy import create_engine, select, text\nengine = create_engine('sqlite://')\n"


# -- raw SQL built at run time ------------------------------------------------------------------


def test_sql_strings_built_at_run_time_go_to_the_driver() -> None:
    """``str(...)``, ``+`` on a literal and a name every binding of which is a string are
    strings: 2.0's ``Connection.execute()`` refuses them."""
    check_transformed(
        ENGINE
        + "def copy(stmt, table):\n"
        + "    engine.execute(str(stmt))\n"
        + "    engine.execute('DELETE FROM ' + table)\n"
        + "def track(day):\n"
        + "    sql = '''DELETE FROM summary WHERE day = %s'''\n"
        + "    engine.execute(sql, (day,))\n"
        + "    sql = '''UPDATE summary SET n = 0'''\n"
        + "    engine.execute(sql)\n",
        ENGINE
        + "def copy(stmt, table):\n"
        + "    with engine.begin() as conn:\n"
        + "        conn.exec_driver_sql(str(stmt))\n"
        + "    with engine.begin() as conn:\n"
        + "        conn.exec_driver_sql('DELETE FROM ' + table)\n"
        + "def track(day):\n"
        + "    sql = '''DELETE FROM summary WHERE day = %s'''\n"
        + "    with engine.begin() as conn:\n"
        + "        conn.exec_driver_sql(sql, (day,))\n"
        + "    sql = '''UPDATE summary SET n = 0'''\n"
        + "    with engine.begin() as conn:\n"
        + "        conn.exec_driver_sql(sql)\n",
    )


def test_names_that_may_hold_a_statement_are_left_alone() -> None:
    check_noop(
        ENGINE
        + "def f(conn, stmt, flag):\n"
        + "    sql = stmt if flag else 'SELECT 1'\n"
        + "    conn.execute(sql)\n"
        + "    query = text('SELECT 1')\n"
        + "    query = 'SELECT 2'\n"
        + "    conn.execute(query)\n"
        + "    conn.execute(stmt + 1)\n"
    )


def test_one_driver_parameter_is_packed_as_1x_did() -> None:
    """1.x took a tuple, list or dictionary as the parameters and any other value as the
    only one; a value of unknown kind gets a TODO."""
    check_transformed(
        ENGINE
        + "URL = '/dataset/%'\n"
        + "def f(day, args):\n"
        + "    with engine.connect() as conn:\n"
        + "        a = conn.execute('SELECT * FROM t WHERE u LIKE %s', URL).fetchall()\n"
        + "        pair = (day, 1)\n"
        + "        b = conn.execute('SELECT * FROM t WHERE d = %s AND n = %s', pair).fetchall()\n"
        + "        c = conn.execute('SELECT * FROM t WHERE n = %s', -1).fetchall()\n"
        + "        d = conn.execute('SELECT * FROM t WHERE d = %s', day).fetchall()\n"
        + "    return a, b, c, d\n",
        ENGINE
        + "URL = '/dataset/%'\n"
        + "def f(day, args):\n"
        + "    with engine.connect() as conn:\n"
        + "        a = conn.exec_driver_sql('SELECT * FROM t WHERE u LIKE %s', (URL,)).fetchall()\n"
        + "        pair = (day, 1)\n"
        + "        b = conn.exec_driver_sql('SELECT * FROM t WHERE d = %s AND n = %s', pair).fetchall()\n"
        + "        c = conn.exec_driver_sql('SELECT * FROM t WHERE n = %s', (-1,)).fetchall()\n"
        + "        # TODO(sqla-upgrade): raw SQL execute() with one parameter of unknown kind: 1.x "
        + "took a tuple, list or dictionary as the parameters and any other value as the only "
        + "one; use exec_driver_sql(sql, (value,)) or exec_driver_sql(sql, parameters)\n"
        + "        d = conn.execute('SELECT * FROM t WHERE d = %s', day).fetchall()\n"
        + "    return a, b, c, d\n",
        todos=["one parameter of unknown kind"],
    )


def test_sql_built_at_run_time_runs_as_it_did(tmp_path: Path) -> None:
    legacy = (
        "from sqlalchemy import create_engine\n"
        f"engine = create_engine('sqlite:///{tmp_path / 'db.sqlite'}')\n"
        "engine.execute('CREATE TABLE t (n INTEGER)')\n"
        "TABLE = 't'\n"
        "def fill(n):\n"
        "    sql = 'INSERT INTO ' + TABLE + ' VALUES (?)'\n"
        "    engine.execute(sql, int(n))\n"
        "    sql = str('INSERT INTO t VALUES (2)')\n"
        "    engine.execute(sql)\n"
        "def total():\n"
        "    return engine.execute('SELECT sum(n) FROM ' + TABLE).scalar()\n"
    )
    migrated = migrate_source(legacy, target="2.0", module_name="app.fill")
    assert "conn.exec_driver_sql(sql, (int(n),))" in migrated.code, migrated.code
    module = exec_module(migrated.code)
    module.fill(5)
    assert module.total() == 7


# -- pool-event listeners get the driver's connection ------------------------------------------


def test_pool_event_listeners_keep_the_driver_connection_execute() -> None:
    """A ``connect``/``checkout`` listener is handed the DBAPI connection (sqlite3's
    ``execute()``), not a SQLAlchemy ``Connection``: no ``exec_driver_sql()`` there."""
    check_noop(
        "import sqlalchemy as sa\n"
        "from sqlalchemy import event\n"
        "engine = sa.create_engine('sqlite://')\n"
        "@event.listens_for(engine, 'connect')\n"
        "def on_connect(connection, record):\n"
        "    connection.execute('pragma foreign_keys = on')\n"
        "def setup(engine):\n"
        "    def on_checkout(conn, record, proxy):\n"
        "        conn.execute('pragma journal_mode = wal')\n"
        "    sa.event.listen(engine.pool, 'checkout', on_checkout)\n"
    )


def test_connection_event_listeners_get_a_sqlalchemy_connection() -> None:
    check_transformed(
        "import sqlalchemy as sa\n"
        "engine = sa.create_engine('sqlite://')\n"
        "@sa.event.listens_for(engine, 'engine_connect')\n"
        "def on_engine_connect(conn, branch):\n"
        "    conn.execute('SELECT 1')\n",
        "import sqlalchemy as sa\n"
        "engine = sa.create_engine('sqlite://')\n"
        "@sa.event.listens_for(engine, 'engine_connect')\n"
        "def on_engine_connect(conn, branch):\n"
        "    conn.exec_driver_sql('SELECT 1')\n",
    )


def test_pool_listener_runs_on_2x(tmp_path: Path) -> None:
    legacy = (
        "import sqlalchemy as sa\n"
        f"engine = sa.create_engine('sqlite:///{tmp_path / 'db.sqlite'}')\n"
        "def connect_listener(connection, record):\n"
        "    connection.execute('pragma foreign_keys = on')\n"
        "sa.event.listen(engine.pool, 'connect', connect_listener)\n"
        "def foreign_keys():\n"
        "    return engine.execute('pragma foreign_keys').scalar()\n"
    )
    migrated = migrate_source(legacy, target="2.0", module_name="app.listen")
    assert "connection.execute('pragma foreign_keys = on')" in migrated.code
    assert exec_module(migrated.code).foreign_keys() == 1


# -- connections opened in a branch, or handed to a callback -----------------------------------

HEAD = """\
import sqlalchemy as sa

metadata = sa.MetaData()
items = sa.Table("items", metadata, sa.Column("n", sa.Integer))


"""


def test_connection_handed_to_a_callback_parameter_is_todo() -> None:
    """A thread pool's ``do(callable)``: 1.x autocommitted what the callback changed on
    the connection; 2.0 rolls it back when the connection closes."""
    check_transformed(
        HEAD
        + "class Pool:\n"
        + "    def __init__(self, engine):\n"
        + "        self.engine = engine\n"
        + "    def do(self, callable, *args, with_engine=False):\n"
        + "        if with_engine:\n"
        + "            arg = self.engine\n"
        + "        else:\n"
        + "            arg = self.engine.connect()\n"
        + "        try:\n"
        + "            return callable(arg, *args)\n"
        + "        finally:\n"
        + "            if not with_engine:\n"
        + "                arg.close()\n",
        HEAD
        + "class Pool:\n"
        + "    def __init__(self, engine):\n"
        + "        self.engine = engine\n"
        + "    def do(self, callable, *args, with_engine=False):\n"
        + "        if with_engine:\n"
        + "            arg = self.engine\n"
        + "        else:\n"
        + "            arg = self.engine.connect()\n"
        + "        try:\n"
        + "            # TODO(sqla-upgrade): 1.x autocommitted the data changes callable() makes "
        + "on this connection; add conn.commit() after it if it changes data\n"
        + "            return callable(arg, *args)\n"
        + "        finally:\n"
        + "            if not with_engine:\n"
        + "                arg.close()\n",
        only=("connection-autocommit",),
        todos=["callable() makes on this connection"],
    )


def test_connection_opened_in_a_try_block_commits_its_data_changes() -> None:
    check_transformed(
        HEAD
        + "def add(engine, n):\n"
        + "    try:\n"
        + "        conn = engine.connect()\n"
        + "        conn.execute(items.insert(), {'n': n})\n"
        + "        return conn.execute(sa.select(items.c.n)).fetchall()\n"
        + "    finally:\n"
        + "        conn.close()\n",
        HEAD
        + "def add(engine, n):\n"
        + "    try:\n"
        + "        conn = engine.connect()\n"
        + "        conn.execute(items.insert(), {'n': n})\n"
        + "        conn.commit()\n"
        + "        return conn.execute(sa.select(items.c.n)).fetchall()\n"
        + "    finally:\n"
        + "        conn.close()\n",
        only=("connection-autocommit",),
    )


def test_name_holding_the_engine_or_a_connection_gets_a_todo_not_a_commit() -> None:
    check_transformed(
        HEAD
        + "def add(engine, n, direct):\n"
        + "    if direct:\n"
        + "        target = engine\n"
        + "    else:\n"
        + "        target = engine.connect()\n"
        + "    target.execute(items.insert(), {'n': n})\n",
        HEAD
        + "def add(engine, n, direct):\n"
        + "    if direct:\n"
        + "        target = engine\n"
        + "    else:\n"
        + "        target = engine.connect()\n"
        + "    # TODO(sqla-upgrade): 1.x autocommitted data changes on this connection; add "
        + "conn.commit() if this statement changes data\n"
        + "    target.execute(items.insert(), {'n': n})\n",
        only=("connection-autocommit",),
        todos=["autocommitted data changes"],
    )


def test_callbacks_and_connections_not_changing_data_are_left_alone() -> None:
    check_noop(
        HEAD
        + "def run(engine, callback):\n"
        + "    try:\n"
        + "        conn = engine.connect()\n"
        + "        print(conn)\n"
        + "        rows = conn.execute(sa.select(items.c.n)).fetchall()\n"
        + "    finally:\n"
        + "        conn.close()\n"
        + "    return callback(rows)\n",
        only=("connection-autocommit",),
    )


def test_migrated_connection_in_a_try_block_keeps_its_rows(tmp_path: Path) -> None:
    legacy = (
        HEAD
        + f"engine = sa.create_engine('sqlite:///{tmp_path / 'db.sqlite'}')\n"
        + "metadata.create_all(engine)\n"
        + "def add(n):\n"
        + "    try:\n"
        + "        conn = engine.connect()\n"
        + "        conn.execute(items.insert(), n=n)\n"
        + "    finally:\n"
        + "        conn.close()\n"
        + "def numbers():\n"
        + "    with engine.connect() as conn:\n"
        + "        return [row['n'] for row in conn.execute(sa.select([items.c.n]))]\n"
    )
    migrated = migrate_source(legacy, target="2.0", module_name="app.add").code
    module = exec_module(migrated)
    module.add(3)
    assert module.numbers() == [3]


# -- implicit execution of a statement kept in a variable ---------------------------------------

BOUND = (
    "from sqlalchemy import Column, Integer, MetaData, Table, create_engine, select\n"
    "engine = create_engine('sqlite://')\n"
    "metadata = MetaData(bind=engine)\n"
    "items = Table('items', metadata, Column('id', Integer, primary_key=True))\n"
)


def test_implicit_execution_of_a_statement_in_a_variable_runs_on_its_engine() -> None:
    check_transformed(
        BOUND
        + "def f(n):\n"
        + "    q = select([items.c.id])\n"
        + "    q = q.where(items.c.id > n)\n"
        + "    return q.execute().fetchall()\n",
        BOUND.replace("MetaData(bind=engine)", "MetaData()")
        + "def f(n):\n"
        + "    q = select(items.c.id)\n"
        + "    q = q.where(items.c.id > n)\n"
        + "    with engine.begin() as conn:\n"
        + "        return conn.execute(q).fetchall()\n",
    )


def test_implicit_execution_of_a_variable_of_unknown_tables_is_todo() -> None:
    """sqlalchemy-migrate scripts: tables of metadata the caller bound."""
    check_transformed(
        "import sqlalchemy as sa\n"
        "def incompatible(metadata):\n"
        "    changes = sa.Table('changes', metadata, autoload=True)\n"
        "    q = sa.select([changes.c.changeid]).where(sa.func.length(changes.c.author) > 255)\n"
        "    return q.execute().fetchall()\n",
        "import sqlalchemy as sa\n"
        "def incompatible(metadata):\n"
        "    # TODO(sqla-upgrade): Table(..., autoload=True) needs autoload_with=engine in 2.0\n"
        "    changes = sa.Table('changes', metadata, autoload=True)\n"
        "    q = sa.select(changes.c.changeid).where(sa.func.length(changes.c.author) > 255)\n"
        "    # TODO(sqla-upgrade): implicit execution (`statement.execute()`) was removed with "
        "bound metadata: run it as `with engine.begin() as conn: conn.execute(statement, ...)`\n"
        "    return q.execute().fetchall()\n",
        todos=["autoload=True", "implicit execution"],
    )


def test_execute_on_variables_that_are_no_core_statement_is_left_alone() -> None:
    check_noop(
        "import sqlalchemy as sa\n"
        "def f(session, cursor, User):\n"
        "    q = session.query(User)\n"
        "    job = cursor\n"
        "    job.execute()\n"
        "    return q.scalar()\n",
        only=("bound-metadata",),
    )


# -- select(cols) of a list held in a variable -------------------------------------------------

TABLE = (
    "import sqlalchemy as sa\n"
    "metadata = sa.MetaData()\n"
    "t = sa.Table('t', metadata, sa.Column('a', sa.Integer), sa.Column('b', sa.Integer))\n"
)


def test_select_of_a_variable_bound_only_to_lists_is_spread() -> None:
    check_transformed(
        TABLE
        + "def f(names):\n"
        + "    cols = []\n"
        + "    for c in t.columns:\n"
        + "        if c.name in names:\n"
        + "            cols.append(c)\n"
        + "    return sa.select(cols, t.c.a > 1, order_by=[t.c.a])\n"
        + "def g():\n"
        + "    cols = [c for c in t.columns]\n"
        + "    return sa.select(cols)\n",
        TABLE
        + "def f(names):\n"
        + "    cols = []\n"
        + "    for c in t.columns:\n"
        + "        if c.name in names:\n"
        + "            cols.append(c)\n"
        + "    return sa.select(*cols).where(t.c.a > 1).order_by(t.c.a)\n"
        + "def g():\n"
        + "    cols = [c for c in t.columns]\n"
        + "    return sa.select(*cols)\n",
    )


def test_select_of_other_variables_is_left_alone() -> None:
    check_noop(
        TABLE
        + "class User:\n    pass\n"
        + "def f(cols, flag):\n"
        + "    one = t.c.a\n"
        + "    some = [t.c.a] if flag else t.c.b\n"
        + "    return sa.select(cols), sa.select(one), sa.select(some), sa.select(t)\n"
    )


def test_select_of_a_list_variable_selects_what_it_did(tmp_path: Path) -> None:
    legacy = (
        TABLE
        + f"engine = sa.create_engine('sqlite:///{tmp_path / 'db.sqlite'}')\n"
        + "metadata.create_all(engine)\n"
        + "engine.execute(t.insert(), [{'a': 1, 'b': 2}, {'a': 3, 'b': 4}])\n"
        + "def rows():\n"
        + "    cols = []\n"
        + "    for c in t.columns:\n"
        + "        cols.append(c)\n"
        + "    return [tuple(r) for r in engine.execute(sa.select(cols, t.c.a > 1))]\n"
    )
    migrated = migrate_source(legacy, target="2.0", module_name="app.rows").code
    assert "sa.select(*cols).where(t.c.a > 1)" in migrated
    assert exec_module(migrated).rows() == [(3, 4)]


# -- begin() on a handed connection after statements ------------------------------------------

BEGIN_TODO = (
    "# TODO(sqla-upgrade): 2.0 begins a transaction with the first statement run on a "
    "connection (autobegin), so this begin() raises after the statements above it: commit "
    "them first (conn.commit()) when the caller has no transaction of its own open\n"
)


def test_begin_after_a_statement_on_a_handed_connection_is_todo() -> None:
    """A thread pool's ``thd(conn)``: a read, then ``conn.begin()``; 1.x autocommitted the
    read, 2.0 autobegan a transaction there and ``begin()`` raises."""
    check_transformed(
        HEAD
        + "def find_or_add(conn, name):\n"
        + "    rows = conn.execute(sa.select(items.c.n)).fetchall()\n"
        + "    if rows:\n"
        + "        return rows[0].n\n"
        + "    transaction = conn.begin()\n"
        + "    conn.execute(items.insert(), {'n': 1})\n"
        + "    transaction.commit()\n"
        + "    for n in range(3):\n"
        + "        conn.execute(sa.select(items.c.n))\n"
        + "        with conn.begin():\n"
        + "            conn.execute(items.insert(), {'n': n})\n",
        HEAD
        + "def find_or_add(conn, name):\n"
        + "    rows = conn.execute(sa.select(items.c.n)).fetchall()\n"
        + "    if rows:\n"
        + "        return rows[0].n\n"
        + "    "
        + BEGIN_TODO
        + "    transaction = conn.begin()\n"
        + "    conn.execute(items.insert(), {'n': 1})\n"
        + "    transaction.commit()\n"
        + "    for n in range(3):\n"
        + "        conn.execute(sa.select(items.c.n))\n"
        + "        "
        + BEGIN_TODO
        + "        with conn.begin():\n"
        + "            conn.execute(items.insert(), {'n': n})\n",
        only=("connection-autocommit",),
        todos=["begin() raises after the statements above it"] * 2,
    )


def test_begin_first_or_after_ended_transactions_is_left_alone() -> None:
    check_noop(
        HEAD
        + "def add(conn, n):\n"
        + "    transaction = conn.begin()\n"
        + "    conn.execute(items.insert(), {'n': n})\n"
        + "    transaction.commit()\n"
        + "    with conn.begin():\n"
        + "        conn.execute(items.insert(), {'n': n + 1})\n"
        + "    conn.execute(sa.select(items.c.n))\n"
        + "    conn.commit()\n"
        + "    with conn.begin():\n"
        + "        conn.execute(items.insert(), {'n': n + 2})\n"
        + "def on_connect(dbapi_connection, record):\n"
        + "    dbapi_connection.execute('pragma foreign_keys = on')\n"
        + "    dbapi_connection.begin()\n",
        only=("connection-autocommit",),
    )


def test_kept_result_of_a_select_string_in_a_variable_runs_its_uses_on_one_connection() -> None:
    check_transformed(
        ENGINE
        + "def package_ids(day):\n"
        + "    sql = '''SELECT package_id FROM tracking WHERE day >= ?'''\n"
        + "    results = engine.execute(sql, (day,))\n"
        + "    ids = set()\n"
        + "    for row in results:\n"
        + "        ids.add(row['package_id'])\n"
        + "    return ids\n",
        ENGINE
        + "def package_ids(day):\n"
        + "    sql = '''SELECT package_id FROM tracking WHERE day >= ?'''\n"
        + "    with engine.connect() as conn:\n"
        + "        results = conn.exec_driver_sql(sql, (day,))\n"
        + "        ids = set()\n"
        + "        for row in results:\n"
        + "            ids.add(row._mapping['package_id'])\n"
        + "    return ids\n",
    )


def test_kept_result_of_a_data_changing_string_stays_a_todo() -> None:
    check_transformed(
        ENGINE
        + "def purge():\n"
        + "    sql = 'DELETE FROM tracking'\n"
        + "    result = engine.execute(sql)\n"
        + "    return result.rowcount\n",
        ENGINE
        + "def purge():\n"
        + "    sql = 'DELETE FROM tracking'\n"
        + "    # TODO(sqla-upgrade): engine.execute() was removed and its result is used later: "
        + "open `with engine.connect() as conn:` around the uses (and commit data changes)\n"
        + "    result = engine.execute(sql)\n"
        + "    return result.rowcount\n",
        todos=["its result is used later"],
    )


def test_parameters_spread_from_a_dictionary_are_the_dictionary() -> None:
    check_transformed(
        HEAD
        + "def add(conn, rows, **params):\n"
        + "    conn.execute(items.insert(), **params)\n"
        + "    conn.execute(items.insert(), *rows)\n",
        HEAD
        + "def add(conn, rows, **params):\n"
        + "    conn.execute(items.insert(), params)\n"
        + "    # TODO(sqla-upgrade): execute() with *args: 1.x took each as a parameter "
        + "dictionary; pass one dictionary, or a list of them\n"
        + "    conn.execute(items.insert(), *rows)\n",
        only=("raw-sql",),
        todos=["execute() with *args"],
    )


def test_spread_parameters_insert_what_they_inserted(tmp_path: Path) -> None:
    legacy = (
        HEAD
        + f"engine = sa.create_engine('sqlite:///{tmp_path / 'db.sqlite'}')\n"
        + "metadata.create_all(engine)\n"
        + "def add(**params):\n"
        + "    with engine.begin() as conn:\n"
        + "        conn.execute(items.insert(), **params)\n"
        + "def numbers():\n"
        + "    with engine.connect() as conn:\n"
        + "        return [row.n for row in conn.execute(sa.select([items.c.n]))]\n"
    )
    migrated = migrate_source(legacy, target="2.0", module_name="app.spread").code
    module = exec_module(migrated)
    module.add(n=4)
    assert module.numbers() == [4]


def test_kept_result_of_select_sql_built_by_format_runs_on_one_connection() -> None:
    check_transformed(
        ENGINE
        + "def table_exists(tbl):\n"
        + "    try:\n"
        + "        r = engine.execute('select * from {} limit 1'.format(tbl))\n"
        + "        r.close()\n"
        + "        return True\n"
        + "    except Exception:\n"
        + "        return False\n",
        ENGINE
        + "def table_exists(tbl):\n"
        + "    try:\n"
        + "        with engine.connect() as conn:\n"
        + "            r = conn.exec_driver_sql('select * from {} limit 1'.format(tbl))\n"
        + "            r.close()\n"
        + "        return True\n"
        + "    except Exception:\n"
        + "        return False\n",
    )


def test_sql_built_from_a_literal_tells_the_commit() -> None:
    check_transformed(
        ENGINE
        + "def clean(tables):\n"
        + "    with engine.connect() as conn:\n"
        + "        for table in tables:\n"
        + "            conn.execute('delete from \"%s\"' % table)\n",
        ENGINE
        + "def clean(tables):\n"
        + "    with engine.connect() as conn:\n"
        + "        for table in tables:\n"
        + "            conn.exec_driver_sql('delete from \"%s\"' % table)\n"
        + "            conn.commit()\n",
    )
