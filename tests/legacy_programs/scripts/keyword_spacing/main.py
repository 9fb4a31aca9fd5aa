# Calls written against keywords with no space between (`f()or x`, `not(f())`,
# `if(f()):`), as older code often is: each call becomes `await f()`.
# fmt: off
from sqlalchemy import Column, Integer, String, create_engine
from sqlalchemy.orm import declarative_base, sessionmaker

Base = declarative_base()
engine = create_engine("sqlite://")
Session = sessionmaker(bind=engine)


class User(Base):
    __tablename__ = "user"
    id = Column(Integer, primary_key=True)
    name = Column(String(50))


def first_name(session):
    return session.query(User.name).order_by(User.id).limit(1).scalar()


def describe(session, default):
    name = first_name(session)or default
    other = default if not(first_name(session)) else first_name(session)
    if(first_name(session)):
        known = first_name(session)in ("a", "b")
    else:
        known = None
    names = [n for n in [first_name(session)]if n]
    fallback = None or(first_name(session))
    return name, other, known, names, fallback


def main():
    Base.metadata.create_all(engine)
    with Session() as session:
        print(describe(session, "none"))
        session.add(User(name="a"))
        session.commit()
        print(describe(session, "none"))


main()
