"""Business operations. Each service function owns its transaction."""


class ServiceError(Exception):
    pass


class NotFound(ServiceError):
    pass


class OutOfStock(ServiceError):
    pass
