import os

from db import Base, Session, engine
from services import add_author, newest, rename, stats, titles_of


def main():
    if os.path.exists("authors.db"):
        os.remove("authors.db")
    Base.metadata.create_all(engine)
    a = add_author("le guin", "earthsea", "dispossessed")
    add_author("herbert", "dune")
    add_author("nobody")
    print(titles_of("le guin"))
    print(stats())
    print(newest())
    print(rename(a, "ursula"))
    print(titles_of("ursula"))
    Session.remove()


if __name__ == "__main__":
    main()
