from datetime import datetime, timedelta

from ..db import session_scope
from ..repositories import stock as stock_repo


def purge_movements(days, now=None):
    cutoff = (now or datetime.utcnow()) - timedelta(days=days)
    with session_scope() as session:
        deleted = stock_repo.purge_movements(session, cutoff)
        remaining = stock_repo.movement_count(session)
        return deleted, remaining
