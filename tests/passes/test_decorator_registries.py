"""await: a decorator of the project that stores the function it decorates
(``registry[func.__name__] = func``, the job-queue style ``@task``), applied to a function
that becomes async: calls through the registry get a coroutine, so the store gets a TODO,
as the function's own name handed over there would."""

from __future__ import annotations

from tests.harness import check_project

DB = {
    "app.db": """
        from sqlalchemy import create_engine, text
        from sqlalchemy.orm import scoped_session, sessionmaker

        DBSession = scoped_session(sessionmaker(bind=create_engine("sqlite://")))


        def count():
            return DBSession.execute(text("select 1")).scalar()
    """,
}

TODO = (
    "# TODO(sqla-upgrade): {names}, decorated here, {verb} async now and {verb} stored in "
    "registry[func.__name__] here: calling it from there gives a coroutine, not its result: "
    "await those calls (from async code), or hand over a synchronous function"
)


def test_a_registering_decorator_of_async_functions_gets_a_todo() -> None:
    check_project(
        {
            **DB,
            "app.jobs": """
                from app.db import count

                registry = {}


                def task(func):
                    registry[func.__name__] = func
                    return func


                @task
                def first():
                    return count()


                @task
                def second():
                    return count() + 1


                def run_job(name):
                    return registry[name]()
            """,
        },
        {
            "app.jobs": f"""
                from app.db import count

                registry = {{}}


                def task(func):
                    {TODO.format(names="first, second", verb="are")}
                    registry[func.__name__] = func
                    return func


                @task
                async def first():
                    return await count()


                @task
                async def second():
                    return await count() + 1


                def run_job(name):
                    return registry[name]()
            """,
        },
        todos=["first, second, decorated here, are async now"],
    )


def test_decorators_that_do_not_store_the_function_get_no_todo() -> None:
    check_project(
        {
            **DB,
            "app.jobs": """
                import functools

                from app.db import count

                names = []
                registry = {}


                def named(func):
                    names.append(func.__name__)
                    return func


                def logged(func):
                    @functools.wraps(func)
                    def wrapper(*args):
                        print("running", func.__name__)
                        return func(*args)

                    return wrapper


                def task(func):
                    registry[func.__name__] = func
                    return func


                @named
                def first():
                    return count()


                @logged
                def second():
                    return count()


                @task
                def plain():
                    return 1
            """,
        },
        {
            "app.jobs": """
                import functools

                from app.db import count

                names = []
                registry = {}


                def named(func):
                    names.append(func.__name__)
                    return func


                def logged(func):
                    @functools.wraps(func)
                    async def wrapper(*args):
                        print("running", func.__name__)
                        return await func(*args)

                    return wrapper


                def task(func):
                    registry[func.__name__] = func
                    return func


                @named
                async def first():
                    return await count()


                @logged
                async def second():
                    return await count()


                @task
                def plain():
                    return 1
            """,
        },
    )
