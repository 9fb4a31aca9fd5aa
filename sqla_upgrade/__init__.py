"""sqla-upgrade: migrate legacy synchronous SQLAlchemy code to SQLAlchemy 2.0 and asyncio."""

__version__ = "0.1.0"
