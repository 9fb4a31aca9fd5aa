"""The "declarative" recipe from Flask's documentation, without Flask-SQLAlchemy:
a scoped session and ``Base.query = db_session.query_property()``."""

import os
import tempfile

from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table, create_engine
from sqlalchemy.ext.declarative import declarative_base
from sqlalchemy.orm import relationship, scoped_session, sessionmaker

DB_DIR = tempfile.mkdtemp(prefix="recipes-")
engine = create_engine("sqlite:///" + os.path.join(DB_DIR, "recipes.db"))
db_session = scoped_session(sessionmaker(autocommit=False, autoflush=False, bind=engine))
Base = declarative_base()
Base.query = db_session.query_property()

core_metadata = MetaData()
events = Table(
    "events",
    core_metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(20)),
    Column("detail", String(50)),
)


class Author(Base):
    __tablename__ = "authors"
    id = Column(Integer, primary_key=True)
    name = Column(String(50), unique=True)
    books = relationship("Book", back_populates="author", order_by="Book.id")

    @classmethod
    def by_name(cls, name):
        return cls.query.filter_by(name=name).one()


class Book(Base):
    __tablename__ = "books"
    id = Column(Integer, primary_key=True)
    title = Column(String(80))
    year = Column(Integer)
    author_id = Column(ForeignKey("authors.id"))
    author = relationship("Author", back_populates="books")


def init_db():
    Base.metadata.create_all(bind=engine)
    core_metadata.create_all(engine)
