"""Fixtures of the multi-process tests: an S3 server of their own and a broker of their own."""

from .brokers import broker  # noqa: F401
from .s3server import s3_server  # noqa: F401
