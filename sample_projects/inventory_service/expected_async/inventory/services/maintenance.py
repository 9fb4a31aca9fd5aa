from datetime import datetime, timedelta

from ..db import session_scope
from ..repositories import stock as stock_repo


async def purge_movements(days, now=None):
    cutoff = (now or datetime.utcnow()) - timedelta(days=days)
    async with session_scope() as session:
        deleted = await stock_repo.purge_movements(session, cutoff)
        remaining = await stock_repo.movement_count(session)
        return deleted, remaining
