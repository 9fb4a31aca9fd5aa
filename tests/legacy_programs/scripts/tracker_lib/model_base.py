import sqlalchemy
from sqlalchemy.ext.declarative import declarative_base
from sqlalchemy.orm import scoped_session, sessionmaker

BASE = declarative_base()

SESSIONMAKER = None


def create_session(db_url):
    """The scoped session of the database at db_url (one engine per process)."""
    global SESSIONMAKER
    if SESSIONMAKER is None:
        engine = sqlalchemy.create_engine(db_url)
        SESSIONMAKER = sessionmaker(bind=engine)
    scopedsession = scoped_session(SESSIONMAKER)
    return scopedsession
