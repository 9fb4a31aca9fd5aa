import os
import tempfile
from contextlib import contextmanager

from sqlalchemy import create_engine
from sqlalchemy.orm import declarative_base
from sqlalchemy.orm import scoped_session, sessionmaker


def _default_url():
    return "sqlite:///" + os.path.join(tempfile.gettempdir(), "inventory.sqlite")


DATABASE_URL = os.environ.get("DATABASE_URL") or _default_url()

engine = create_engine(DATABASE_URL, pool_pre_ping=True)
Session = scoped_session(sessionmaker(bind=engine))

Base = declarative_base()


def init_db():
    # import the models so that they are registered on the metadata
    from . import models  # noqa: F401

    Base.metadata.create_all(bind=engine)


def drop_db():
    from . import models  # noqa: F401

    Base.metadata.drop_all(bind=engine)


@contextmanager
def session_scope():
    """Provide a transactional scope around a series of operations."""
    session = Session()
    try:
        yield session
        session.commit()
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()
