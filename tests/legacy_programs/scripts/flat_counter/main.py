import sys

from sqlalchemy import Column, Integer, String, create_engine
from sqlalchemy.orm import declarative_base, sessionmaker

engine = create_engine("sqlite://", echo=False)
Base = declarative_base()


class Counter(Base):
    __tablename__ = "counters"
    id = Column(Integer, primary_key=True)
    name = Column(String(20), unique=True)
    value = Column(Integer, default=0)


class Store:
    def __init__(self, session):
        self.session = session

    def bump(self, name, by=1):
        counter = self.session.query(Counter).filter_by(name=name).one_or_none()
        if counter is None:
            counter = Counter(name=name, value=0)
            self.session.add(counter)
        counter.value += by
        self.session.commit()
        return counter.value


Base.metadata.create_all(engine)
Session = sessionmaker(bind=engine)
store = Store(Session())
results = []
for word in "a b a c a b".split():
    results.append(store.bump(word))
print(results)


def total():
    return sum(c.value for c in store.session.query(Counter))


print(total(), store.bump("c", by=10))
try:
    store.bump(5)
except Exception as exc:
    print(type(exc).__name__)
    store.session.rollback()
print(sorted((c.name, c.value) for c in store.session.query(Counter)))
sys.exit(0)
