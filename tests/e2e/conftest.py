from tests.integration.conftest import prefix, redis, redis_server, redis_url

__all__ = ["prefix", "redis", "redis_server", "redis_url"]
