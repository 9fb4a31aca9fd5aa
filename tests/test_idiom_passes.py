"""The small 1.x idiom passes: declarative import, select([...]), case([...])."""

from tests.harness import check_noop, check_transformed


def test_declarative_import_moves_whole_line() -> None:
    check_transformed(
        """
        from sqlalchemy.ext.declarative import declarative_base
        Base = declarative_base()
        """,
        """
        from sqlalchemy.orm import declarative_base
        Base = declarative_base()
        """,
    )


def test_declarative_import_keeps_extension_names() -> None:
    check_transformed(
        """
        from sqlalchemy.ext.declarative import ConcreteBase, declarative_base
        Base = declarative_base()
        """,
        """
        from sqlalchemy.ext.declarative import ConcreteBase
        from sqlalchemy.orm import declarative_base
        Base = declarative_base()
        """,
    )


def test_declarative_import_noop_on_orm_import() -> None:
    check_noop(
        """
        from sqlalchemy.orm import declarative_base
        from sqlalchemy.ext.declarative import DeferredReflection
        """
    )


def test_select_list_with_where_and_keywords() -> None:
    check_transformed(
        """
        from sqlalchemy import select
        def q(t):
            return select([t.c.id, t.c.name], t.c.id > 1, order_by=[t.c.id], limit=5)
        """,
        """
        from sqlalchemy import select
        def q(t):
            return select(t.c.id, t.c.name).where(t.c.id > 1).order_by(t.c.id).limit(5)
        """,
    )


def test_select_list_through_module_alias() -> None:
    check_transformed(
        """
        import sqlalchemy as sa
        stmt = sa.select([sa.func.count()], distinct=True, from_obj=[users])
        """,
        """
        import sqlalchemy as sa
        stmt = sa.select(sa.func.count()).distinct().select_from(users)
        """,
    )


def test_select_list_single_clauses_are_not_spread() -> None:
    """``from_obj``/``order_by`` took one clause or a list: one clause stays one argument."""
    check_transformed(
        """
        from sqlalchemy import Table, desc, select
        from .tables import orders
        users = Table("users", metadata)
        froms = [users, orders]
        by = (users.c.id,)
        def q(kind):
            a = select([users.c.id], from_obj=users, order_by=desc(users.c.id))
            b = select([users.c.id], from_obj=users.join(orders), order_by=users.c.name)
            c = select([orders.c.id], from_obj=orders, group_by=by)
            return a, b, c, select([users.c.id], from_obj=froms)
        """,
        """
        from sqlalchemy import Table, desc, select
        from .tables import orders
        users = Table("users", metadata)
        froms = [users, orders]
        by = (users.c.id,)
        def q(kind):
            a = select(users.c.id).select_from(users).order_by(desc(users.c.id))
            b = select(users.c.id).select_from(users.join(orders)).order_by(users.c.name)
            c = select(orders.c.id).select_from(orders).group_by(*by)
            return a, b, c, select(users.c.id).select_from(*froms)
        """,
    )


def test_select_list_clause_or_list_unknown_is_left_with_todo() -> None:
    check_transformed(
        """
        from sqlalchemy import select
        def q(t, froms):
            return select([t.c.id], from_obj=froms)
        """,
        """
        from sqlalchemy import select
        def q(t, froms):
            # TODO(sqla-upgrade): select() with 1.x arguments that have no exact 2.0 form
            return select([t.c.id], from_obj=froms)
        """,
        todos=["no exact 2.0 form"],
    )


def test_select_list_comprehension_is_spread() -> None:
    check_transformed(
        """
        from sqlalchemy.sql import select
        stmt = select([c for c in table.c])
        """,
        """
        from sqlalchemy.sql import select
        stmt = select(*[c for c in table.c])
        """,
    )


def test_select_list_unknown_keyword_is_left_with_todo() -> None:
    check_transformed(
        """
        from sqlalchemy import select
        stmt = select([t], bind=engine)
        """,
        """
        from sqlalchemy import select
        # TODO(sqla-upgrade): select() with 1.x arguments that have no exact 2.0 form
        stmt = select([t], bind=engine)
        """,
        todos=["no exact 2.0 form"],
    )


def test_select_list_label_and_correlation_flags() -> None:
    check_transformed(
        """
        from sqlalchemy import select
        a = select([t.c.id], t.c.id > 1, use_labels=True)
        b = select([t.c.id], correlate=False)
        c = select([t.c.id], use_labels=False, correlate=True)
        """,
        """
        from sqlalchemy import LABEL_STYLE_TABLENAME_PLUS_COL, select
        a = select(t.c.id).where(t.c.id > 1).set_label_style(LABEL_STYLE_TABLENAME_PLUS_COL)
        b = select(t.c.id).correlate(None)
        c = select(t.c.id)
        """,
    )


def test_select_list_flag_of_unknown_value_is_left_with_todo() -> None:
    check_transformed(
        """
        from sqlalchemy import select
        def f(flag):
            return select([t], use_labels=flag)
        """,
        """
        from sqlalchemy import select
        def f(flag):
            # TODO(sqla-upgrade): select() with 1.x arguments that have no exact 2.0 form
            return select([t], use_labels=flag)
        """,
        todos=["no exact 2.0 form"],
    )


def test_select_list_use_labels_gives_the_1x_keys() -> None:
    from sqlalchemy import create_engine

    from sqla_upgrade.api import migrate_source
    from tests.harness import exec_module

    code = (
        "from sqlalchemy import Column, Integer, MetaData, Table, select\n"
        "metadata = MetaData()\n"
        "users = Table('users', metadata, Column('id', Integer, primary_key=True))\n\n\n"
        "def keys(conn):\n"
        "    return list(conn.execute(select([users.c.id], use_labels=True)).keys())\n"
    )
    migrated = migrate_source(code, target="2.0").code
    assert "use_labels" not in migrated and "TODO" not in migrated
    module = exec_module(migrated)
    engine = create_engine("sqlite://")
    module.metadata.create_all(engine)
    with engine.connect() as conn:
        assert module.keys(conn) == ["users_id"]  # what SQLAlchemy 1.4 gives


def test_select_of_other_library_is_untouched() -> None:
    check_noop(
        """
        import select
        from mylib import select as pick
        ready = select.select([sock], [], [], 0)
        rows = pick([1, 2])
        """
    )


def test_select_list_noop_on_2_0_form() -> None:
    check_noop(
        """
        from sqlalchemy import select
        stmt = select(User.id, User.name).where(User.id > 1)
        cols = [User.id]
        stmt2 = select(*cols)
        """
    )


def test_case_list_to_positional() -> None:
    check_transformed(
        """
        from sqlalchemy import case
        label = case([(User.age < 18, "minor"), (User.age < 65, "adult")], else_="senior")
        """,
        """
        from sqlalchemy import case
        label = case((User.age < 18, "minor"), (User.age < 65, "adult"), else_="senior")
        """,
    )


def test_case_whens_written_as_lists_become_tuples() -> None:
    """1.x took ``case([[cond, value]])``; 2.0 reads a list first argument as the whole
    list of whens, so a when left a list would be split in two."""
    result = check_transformed(
        """
        from sqlalchemy import case, column
        label = case([
            [column("v").isnot(None), column("n") + " - " + column("v")]
        ], else_=column("n"))
        """,
        """
        from sqlalchemy import case, column
        label = case((column("v").isnot(None), column("n") + " - " + column("v")), else_=column("n"))
        """,
    )
    namespace: dict[str, object] = {}
    exec(result.code, namespace)
    rendered = str(namespace["label"])
    assert rendered == "CASE WHEN (v IS NOT NULL) THEN n || :n_1 || v ELSE n END", rendered


def test_case_whens_keyword() -> None:
    check_transformed(
        """
        import sqlalchemy
        label = sqlalchemy.case(whens=[(User.age < 18, "minor")], else_="adult")
        """,
        """
        import sqlalchemy
        label = sqlalchemy.case((User.age < 18, "minor"), else_="adult")
        """,
    )


def test_case_dict_form_untouched() -> None:
    check_noop(
        """
        from sqlalchemy import case
        label = case({"a": 1, "b": 2}, value=User.kind)
        other = case((User.age < 18, "minor"), else_="adult")
        """
    )


def test_case_of_other_library_untouched() -> None:
    check_noop(
        """
        from mylib import case
        value = case([(1, 2)])
        """
    )


def test_select_as_scalar_renamed() -> None:
    check_transformed(
        """
        from sqlalchemy import select, func
        n = select([func.count(orders.c.id)]).where(orders.c.user_id == users.c.id).as_scalar()
        other = thing.as_scalar()
        """,
        """
        from sqlalchemy import select, func
        n = select(func.count(orders.c.id)).where(orders.c.user_id == users.c.id).scalar_subquery()
        other = thing.as_scalar()
        """,
    )


def test_select_list_after_a_comment_tab_or_parenthesis() -> None:
    """The list may follow ``select(`` after a comment, a tab or a parenthesis: the pass
    still sees the file."""
    check_transformed(
        "from sqlalchemy import select\n"
        "q = select(  # the ids\n    [users.c.id]\n)\nr = select(\t[users.c.id])\n",
        "from sqlalchemy import select\n"
        "q = select(  # the ids\n    users.c.id)\nr = select(\tusers.c.id)\n",
    )
    check_transformed(
        "from sqlalchemy import select\ns = select(([users.c.id]))\n",
        "from sqlalchemy import select\ns = select(users.c.id)\n",
    )


def test_select_list_prefilter_declines_2_0_selects() -> None:
    from sqla_upgrade.codemods.passes.select_list import SelectListPass

    assert not SelectListPass.concerns(b"select(User).where(x)", "a.py", None)
    assert not SelectListPass.concerns(b"select(\n    User.id, User.name\n)", "a.py", None)
    assert SelectListPass.concerns(b"select  (\n  # c\n  [User.id])", "a.py", None)
    assert SelectListPass.concerns(b"q.as_scalar()", "a.py", None)
