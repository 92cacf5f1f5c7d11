"""A real S3 API over HTTP for the tests: moto's standalone server (`moto[server]`) started as
a subprocess on a free loopback port, not an in-process mock. Nothing else is needed, so the
object-storage tests run in `make test` and in CI's SQLite runs alike.

    from msp_portal.tests.s3server import s3_server  # noqa: F401  (in a conftest)

`s3_server.bucket(name)` creates a bucket and returns the exports storage settings pointing at
it; `s3_server.env(bucket)` the environment variables that configure a process the same way.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ACCESS_KEY = "testing-access-key"
SECRET_KEY = "testing-secret-key"  # moto accepts any
REGION = "ap-northeast-1"
START_SECONDS = 30


def free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class S3Server:
    def __init__(self):
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        handle, self.log_path = tempfile.mkstemp(prefix="moto-", suffix=".log")
        os.close(handle)
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=1).close()  # noqa: S310
                return
            time.sleep(0.1)
        raise RuntimeError(f"moto's S3 server did not start:\n{Path(self.log_path).read_text(errors='replace')}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        Path(self.log_path).unlink(missing_ok=True)

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def create_bucket(self, name: str) -> str:
        self.client().create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
        return name

    def keys(self, bucket: str) -> list[str]:
        listing = self.client().list_objects_v2(Bucket=bucket)
        return sorted(item["Key"] for item in listing.get("Contents", []))

    def env(self, bucket: str) -> dict[str, str]:
        """The environment that points a web or worker process's exports storage at the bucket."""
        return {
            "EXPORTS_S3_BUCKET": bucket,
            "EXPORTS_S3_ENDPOINT_URL": self.endpoint,
            "EXPORTS_S3_REGION": REGION,
            "EXPORTS_S3_ACCESS_KEY_ID": ACCESS_KEY,
            "EXPORTS_S3_SECRET_ACCESS_KEY": SECRET_KEY,
            "EXPORTS_S3_ADDRESSING_STYLE": "path",
        }

    def storage_settings(self, bucket: str, expire: int = 300) -> dict:
        """settings.STORAGES["exports"] as msp_portal/settings.py builds it from env(bucket)."""
        return {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket,
                "endpoint_url": self.endpoint,
                "region_name": REGION,
                "access_key": ACCESS_KEY,
                "secret_key": SECRET_KEY,
                "location": "",
                "addressing_style": "path",
                "signature_version": "s3v4",
                "default_acl": None,
                "querystring_auth": True,
                "querystring_expire": expire,
                "file_overwrite": True,
            },
        }


@pytest.fixture(scope="session")
def s3_server():
    server = S3Server()
    server.start()
    yield server
    server.stop()
