from sqlalchemy import func

from db import Author, Book, Session


def add_author(name, *titles):
    author = Author(name=name)
    for i, t in enumerate(titles):
        author.books.append(Book(title=t, year=2000 + i))
    Session.add(author)
    Session.commit()
    return author.id


def titles_of(name):
    author = Author.query.filter_by(name=name).first()
    return [b.title for b in author.books]


def stats():
    rows = (
        Session.query(Author.name, func.count(Book.id))
        .outerjoin(Author.books)
        .group_by(Author.name)
        .order_by(Author.name)
        .all()
    )
    return {name: n for name, n in rows}


def newest():
    book = Book.query.order_by(Book.year.desc(), Book.title).first()
    return book.title, book.author.name


def rename(author_id, name):
    author = Author.query.get(author_id)
    author.name = name
    Session.commit()
    return author.name
