"""eager-options for association proxies and class hierarchies.

``keywords = association_proxy("kw_links", "keyword")`` reads relationship ``kw_links``
and then ``keyword`` of each link: a query whose objects' ``keywords`` are read later
loads that path. A query of a base class of a polymorphic hierarchy returns subclass
objects without their own attributes: reading one later needs ``selectin_polymorphic``.
Every case runs the whole async pipeline over a small project (``check_project``).
"""

from __future__ import annotations

import textwrap

from sqla_upgrade.codemods.analysis.lazy_reads import LazyReadAnalysis
from sqla_upgrade.codemods.index.builder import IndexBuilder
from tests.harness import check_project

PROXY_MODELS = """
    from sqlalchemy import Column, ForeignKey, Integer, String
    from sqlalchemy.ext.associationproxy import association_proxy
    from sqlalchemy.orm import declarative_base, relationship

    Base = declarative_base()


    class Keyword(Base):
        __tablename__ = "keywords"
        id = Column(Integer, primary_key=True)
        word = Column(String)


    class ArticleKeyword(Base):
        __tablename__ = "article_keywords"
        article_id = Column(ForeignKey("articles.id"), primary_key=True)
        keyword_id = Column(ForeignKey("keywords.id"), primary_key=True)
        note = Column(String)
        keyword = relationship(Keyword)


    class Article(Base):
        __tablename__ = "articles"
        id = Column(Integer, primary_key=True)
        title = Column(String)
        kw_links = relationship(ArticleKeyword)
        keywords = association_proxy("kw_links", "keyword")
        notes = association_proxy(target_collection="kw_links", attr="note")
"""

STAFF_MODELS = """
    from sqlalchemy import Column, ForeignKey, Integer, String
    from sqlalchemy.orm import declarative_base, relationship

    Base = declarative_base()


    class Company(Base):
        __tablename__ = "companies"
        id = Column(Integer, primary_key=True)
        staff = relationship("Employee")


    class Employee(Base):
        __tablename__ = "employees"
        id = Column(Integer, primary_key=True)
        company_id = Column(ForeignKey("companies.id"))
        name = Column(String)
        type = Column(String)
        __mapper_args__ = {"polymorphic_on": type, "polymorphic_identity": "employee"}


    class Engineer(Employee):
        __tablename__ = "engineers"
        id = Column(ForeignKey("employees.id"), primary_key=True)
        engineer_name = Column(String)
        __mapper_args__ = {"polymorphic_identity": "engineer"}

        def badge(self):
            return f"{self.name} ({self.engineer_name})"


    class Manager(Employee):
        __tablename__ = "managers"
        id = Column(ForeignKey("employees.id"), primary_key=True)
        manager_name = Column(String)
        __mapper_args__ = {"polymorphic_identity": "manager"}


    class Clerk(Employee):
        desk = Column(String)
        __mapper_args__ = {"polymorphic_identity": "clerk"}
"""


# -- association proxies ----------------------------------------------------------------


def test_proxy_reads_load_the_relationship_and_the_proxied_relationship() -> None:
    """Iterating a proxy to a relationship loads both hops; ``len()`` of a proxy to a
    column loads the first one (``session.get()`` takes them as ``options=``)."""
    check_project(
        {
            "app.models": PROXY_MODELS,
            "app.views": """
                from sqlalchemy.orm import Session
                from app.models import Article


                def words(session: Session):
                    return [[k.word for k in a.keywords] for a in session.query(Article).all()]


                def note_count(session: Session, article_id):
                    article = session.query(Article).get(article_id)
                    return len(article.notes)
            """,
        },
        {
            "app.models": PROXY_MODELS,
            "app.views": """
                from sqlalchemy.orm import joinedload, selectinload
                from app.models import ArticleKeyword, Article
                from sqlalchemy import select
                from sqlalchemy.ext.asyncio import AsyncSession


                async def words(session: AsyncSession):
                    return [[k.word for k in a.keywords] for a in (await session.scalars(select(Article).options(
                        selectinload(Article.kw_links).joinedload(ArticleKeyword.keyword),
                    ))).all()]


                async def note_count(session: AsyncSession, article_id):
                    article = await session.get(Article, article_id, options=[selectinload(Article.kw_links)])
                    return len(article.notes)
            """,
        },
    )


def test_proxy_read_where_the_query_is_unknown_loads_both_relationships_eagerly() -> None:
    check_project(
        {
            "app.models": PROXY_MODELS,
            "app.views": """
                def words(article):
                    return sorted(k.word for k in article.keywords)
            """,
        },
        {
            "app.models": PROXY_MODELS.replace(
                "relationship(Keyword)", 'relationship(Keyword, lazy="selectin")'
            ).replace(
                "relationship(ArticleKeyword)", 'relationship(ArticleKeyword, lazy="selectin")'
            ),
            "app.views": """
                def words(article):
                    return sorted(k.word for k in article.keywords)
            """,
        },
    )


def test_proxy_never_read_adds_no_options() -> None:
    check_project(
        {
            "app.models": PROXY_MODELS,
            "app.views": """
                from sqlalchemy.orm import Session
                from app.models import Article


                def titles(session: Session):
                    return [(a.title, len(a.title)) for a in session.query(Article).all()]
            """,
        },
        {
            "app.models": PROXY_MODELS,
            "app.views": """
                from app.models import Article
                from sqlalchemy import select
                from sqlalchemy.ext.asyncio import AsyncSession


                async def titles(session: AsyncSession):
                    return [(a.title, len(a.title)) for a in (await session.scalars(select(Article))).all()]
            """,
        },
    )


def test_proxy_through_eagerly_loaded_relationships_adds_no_options() -> None:
    eager = PROXY_MODELS.replace(
        "relationship(Keyword)", 'relationship(Keyword, lazy="joined")'
    ).replace("relationship(ArticleKeyword)", 'relationship(ArticleKeyword, lazy="selectin")')
    check_project(
        {
            "app.models": eager,
            "app.views": """
                from sqlalchemy.orm import Session
                from app.models import Article


                def words(session: Session):
                    return [sorted(k.word for k in a.keywords) for a in session.query(Article).all()]
            """,
        },
        {
            "app.models": eager,
            "app.views": """
                from app.models import Article
                from sqlalchemy import select
                from sqlalchemy.ext.asyncio import AsyncSession


                async def words(session: AsyncSession):
                    return [sorted(k.word for k in a.keywords) for a in (await session.scalars(select(Article))).all()]
            """,
        },
    )


def test_a_project_function_spelled_association_proxy_is_no_proxy() -> None:
    """The call is resolved through the imports: ``app.helpers.association_proxy`` is not
    SQLAlchemy's, so ``a.keywords`` reads nothing of ``kw_links``."""
    models = PROXY_MODELS.replace(
        "from sqlalchemy.ext.associationproxy import association_proxy",
        "from app.helpers import association_proxy",
    )
    helpers = """
        def association_proxy(target_collection, attr):
            return property(lambda self: [target_collection, attr])
    """
    check_project(
        {
            "app.helpers": helpers,
            "app.models": models,
            "app.views": """
                from sqlalchemy.orm import Session
                from app.models import Article


                def words(session: Session):
                    return [list(a.keywords) for a in session.query(Article).all()]
            """,
        },
        {
            "app.helpers": helpers,
            "app.models": models,
            "app.views": """
                from app.models import Article
                from sqlalchemy import select
                from sqlalchemy.ext.asyncio import AsyncSession


                async def words(session: AsyncSession):
                    return [list(a.keywords) for a in (await session.scalars(select(Article))).all()]
            """,
        },
    )


def test_the_index_learns_association_proxies_through_imports() -> None:
    builder = IndexBuilder()
    builder.add(
        b"from sqlalchemy.ext import associationproxy as ap\n"
        b"from sqlalchemy.orm import declarative_base, relationship\n"
        b"Base = declarative_base()\n"
        b"class A(Base):\n"
        b"    __tablename__ = 'a'\n"
        b"    links = relationship('Link')\n"
        b"    tags = ap.association_proxy('links', 'tag')\n"
        b"    other = ap.something_else('links', 'tag')\n"
        b"    named = ap.AssociationProxy(attr='x', target_collection='links')\n",
        "app.models",
        "app/models.py",
        False,
    )
    model = builder.build().models["app.models.A"]
    assert model.association_proxies == {"tags": ("links", "tag"), "named": ("links", "x")}
    assert "other" in model.members


def test_a_proxy_read_after_the_session_closed_is_a_lazy_load_risk() -> None:
    builder = IndexBuilder()
    code = (
        "from app.models import Article, Session\n"
        "def f(i):\n"
        "    with Session() as s:\n"
        "        article = s.get(Article, i)\n"
        "    return list(article.keywords), list(article.notes), article.title\n"
    )
    models = "from sqlalchemy.orm import sessionmaker\nSession = sessionmaker()\n"
    models += textwrap.dedent(PROXY_MODELS)
    sources = {"app/models.py": models, "app/code.py": code}
    for path, text in sources.items():
        builder.add(text.encode(), path[:-3].replace("/", "."), path, False)
    analysis = LazyReadAnalysis(builder.build(), {p: t.encode() for p, t in sources.items()})
    found = [
        (r.line, r.expression, r.relationships) for r in analysis.risks("app.code", code.encode())
    ]
    assert found == [
        (5, "article.keywords", ("Article.keywords",)),
        (5, "article.notes", ("Article.notes",)),
    ]


# -- class hierarchies --------------------------------------------------------------------


def test_subclass_attributes_of_a_base_class_query_get_selectin_polymorphic() -> None:
    """Mixed results with isinstance checks, a single-table subclass's column read on
    objects of a relationship (``session.get`` options), a subclass method called."""
    check_project(
        {
            "app.models": STAFF_MODELS,
            "app.views": """
                from sqlalchemy.orm import Session
                from app.models import Company, Employee, Engineer, Manager


                def describe(session: Session):
                    lines = []
                    for e in session.query(Employee).order_by(Employee.id):
                        if isinstance(e, Engineer):
                            lines.append(e.engineer_name)
                        elif isinstance(e, Manager):
                            lines.append(e.manager_name)
                    return lines


                def desks(session: Session, company_id):
                    company = session.query(Company).get(company_id)
                    return [e.desk for e in company.staff if e.type == "clerk"]


                def badges(session: Session):
                    return [e.badge() for e in session.query(Employee).filter(Employee.type == "engineer")]
            """,
        },
        {
            "app.models": STAFF_MODELS,
            "app.views": """
                from sqlalchemy.orm import selectin_polymorphic, selectinload
                from app.models import Clerk, Company, Employee, Engineer, Manager
                from sqlalchemy import select
                from sqlalchemy.ext.asyncio import AsyncSession


                async def describe(session: AsyncSession):
                    lines = []
                    for e in await session.scalars(select(Employee).order_by(Employee.id).options(selectin_polymorphic(Employee, [Engineer, Manager]))):
                        if isinstance(e, Engineer):
                            lines.append(e.engineer_name)
                        elif isinstance(e, Manager):
                            lines.append(e.manager_name)
                    return lines


                async def desks(session: AsyncSession, company_id):
                    company = await session.get(Company, company_id, options=[selectinload(Company.staff).selectin_polymorphic([Clerk])])
                    return [e.desk for e in company.staff if e.type == "clerk"]


                async def badges(session: AsyncSession):
                    return [e.badge() for e in await session.scalars(select(Employee).where(Employee.type == "engineer").options(selectin_polymorphic(Employee, [Engineer])))]
            """,
        },
    )


ENGINEER_TODO = (
    "engineer_name is an attribute of Engineer, which a query of Employee does not load "
    "(MissingGreenlet under asyncio): give the query of these objects "
    "options(selectin_polymorphic(Employee, [Engineer])), or set "
    '"polymorphic_load": "selectin" in the __mapper_args__ of Engineer'
)


def test_subclass_attribute_read_where_the_query_is_unknown_gets_a_todo() -> None:
    check_project(
        {
            "app.models": STAFF_MODELS,
            "app.views": """
                from sqlalchemy.orm import Session
                from app.models import Employee


                def names(session: Session):
                    return [e.name for e in session.query(Employee).all()]


                def show(engineer):
                    return engineer.engineer_name
            """,
        },
        {
            "app.models": STAFF_MODELS,
            "app.views": f"""
                from app.models import Employee
                from sqlalchemy import select
                from sqlalchemy.ext.asyncio import AsyncSession


                async def names(session: AsyncSession):
                    return [e.name for e in (await session.scalars(select(Employee))).all()]


                def show(engineer):
                    # TODO(sqla-upgrade): {ENGINEER_TODO}
                    return engineer.engineer_name
            """,
        },
        todos=[ENGINEER_TODO],
    )


def test_queries_that_load_what_is_read_are_left_alone() -> None:
    """Base columns only; a query of the subclass itself; an option already there; a
    method of the subclass reading its own column (``badge``, never called here)."""
    check_project(
        {
            "app.models": STAFF_MODELS,
            "app.views": """
                from sqlalchemy.orm import Session, selectin_polymorphic
                from app.models import Employee, Engineer


                def names(session: Session):
                    return [(e.name, e.type) for e in session.query(Employee).all()]


                def engineers(session: Session):
                    return [e.engineer_name for e in session.query(Engineer).all()]


                def given(session: Session):
                    query = session.query(Employee).options(selectin_polymorphic(Employee, [Engineer]))
                    return [e.engineer_name for e in query]
            """,
        },
        {
            "app.models": STAFF_MODELS,
            "app.views": """
                from sqlalchemy.orm import selectin_polymorphic
                from app.models import Employee, Engineer
                from sqlalchemy import select
                from sqlalchemy.ext.asyncio import AsyncSession


                async def names(session: AsyncSession):
                    return [(e.name, e.type) for e in (await session.scalars(select(Employee))).all()]


                async def engineers(session: AsyncSession):
                    return [e.engineer_name for e in (await session.scalars(select(Engineer))).all()]


                async def given(session: AsyncSession):
                    query = select(Employee).options(selectin_polymorphic(Employee, [Engineer]))
                    return [e.engineer_name for e in await session.scalars(query)]
            """,
        },
    )


READER = """
    from sqlalchemy.orm import Session
    from app.models import Employee


    def describe(session: Session):
        return [getattr(e, "engineer_name", None) for e in session.query(Employee).all()]
"""
READER_AFTER = """
    from app.models import Employee
    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import AsyncSession


    async def describe(session: AsyncSession):
        return [getattr(e, "engineer_name", None) for e in (await session.scalars(select(Employee))).all()]
"""


def test_subclass_loaded_by_its_mapper_configuration_needs_no_option() -> None:
    for configured in ('"polymorphic_load": "selectin"', '"polymorphic_load": "inline"'):
        models = STAFF_MODELS.replace(
            '"polymorphic_identity": "engineer"',
            f'"polymorphic_identity": "engineer", {configured}',
        )
        check_project({"app.models": models, "app.views": READER}, {"app.views": READER_AFTER})


def test_base_loading_every_subclass_needs_no_option() -> None:
    models = STAFF_MODELS.replace(
        '"polymorphic_identity": "employee"',
        '"polymorphic_identity": "employee", "with_polymorphic": "*"',
    )
    check_project({"app.models": models, "app.views": READER}, {"app.views": READER_AFTER})


def test_a_hierarchy_without_polymorphic_on_needs_no_option() -> None:
    """A query of the base then returns base objects only."""
    models = STAFF_MODELS.replace('"polymorphic_on": type, ', "")
    check_project({"app.models": models, "app.views": READER}, {"app.views": READER_AFTER})


def test_single_table_subclass_column_from_a_query_of_the_subclass_needs_no_option() -> None:
    check_project(
        {
            "app.models": STAFF_MODELS,
            "app.views": """
                from sqlalchemy.orm import Session
                from app.models import Clerk


                def desks(session: Session):
                    return [c.desk for c in session.query(Clerk).all()]
            """,
        },
        {
            "app.views": """
                from app.models import Clerk
                from sqlalchemy import select
                from sqlalchemy.ext.asyncio import AsyncSession


                async def desks(session: AsyncSession):
                    return [c.desk for c in (await session.scalars(select(Clerk))).all()]
            """,
        },
    )
