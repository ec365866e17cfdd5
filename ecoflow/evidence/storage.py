"""Where attachments' bytes live: content-addressed (SHA-256) files behind one small interface, on
the local disk under instance/ by default. A file written in a unit of work that rolls back is
removed again, so that the rows and the files agree."""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError
from flask import Response, current_app, send_file

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Stored:
    sha256: str
    size: int
    is_new: bool  # False: the storage held these bytes already


class Storage(Protocol):
    """What every backend offers; keys are SHA-256 hex digests of the content."""

    def save(self, stream: BinaryIO) -> Stored: ...
    def open(self, sha256: str) -> BinaryIO: ...
    def exists(self, sha256: str) -> bool: ...
    def delete(self, sha256: str) -> None: ...
    def hashes(self, older_than: float | None = None) -> Iterator[str]: ...
    def path(self, sha256: str) -> str | None: ...


def _is_key(name: str) -> bool:
    return len(name) == 64 and all(c in "0123456789abcdef" for c in name)


class LocalStorage:
    """Files under `root`, as root/ab/abcdef…: written to a temporary file while hashed, then renamed."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def _path(self, sha256: str) -> Path:
        if not _is_key(sha256):
            raise ValueError("not a SHA-256 key")
        return self.root / sha256[:2] / sha256

    def save(self, stream: BinaryIO) -> Stored:
        """Stream `stream` into the storage, a chunk at a time (memory does not grow with its size)."""
        incoming = self.root / "incoming"
        incoming.mkdir(parents=True, exist_ok=True)
        digest, size = hashlib.sha256(), 0
        with tempfile.NamedTemporaryFile(dir=incoming, delete=False) as out:
            try:
                while chunk := stream.read(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            except BaseException:
                os.unlink(out.name)
                raise
        sha256 = digest.hexdigest()
        target = self._path(sha256)
        if target.exists():
            os.unlink(out.name)
            return Stored(sha256, size, is_new=False)
        target.parent.mkdir(exist_ok=True)
        os.replace(out.name, target)
        return Stored(sha256, size, is_new=True)

    def open(self, sha256: str) -> BinaryIO:
        return self._path(sha256).open("rb")

    def exists(self, sha256: str) -> bool:
        return self._path(sha256).is_file()

    def delete(self, sha256: str) -> None:
        self._path(sha256).unlink(missing_ok=True)

    def hashes(self, older_than: float | None = None) -> Iterator[str]:
        """Every key held; with `older_than`, only those written at least that many seconds ago."""
        cutoff = None if older_than is None else time.time() - older_than
        for folder in sorted(self.root.glob("??")):
            for path in sorted(folder.iterdir()):
                if _is_key(path.name) and (cutoff is None or path.stat().st_mtime <= cutoff):
                    yield path.name

    def path(self, sha256: str) -> str | None:
        """The file on disk, so that downloads can be served with ranges (video seeking)."""
        return str(self._path(sha256))


class S3Storage:
    """Objects `prefix`<sha256> in a bucket of an S3-compatible object store, through boto3. An
    upload is hashed while it is spooled to a local temporary file (the key is its hash), then sent
    in parts of 8 MiB, two at a time: memory stays bounded whatever the file's size."""

    def __init__(self, client, bucket: str, prefix: str = "evidence/", spool_dir: str | None = None):
        self.client, self.bucket, self.prefix, self.spool_dir = client, bucket, prefix, spool_dir
        self.transfer = TransferConfig(multipart_chunksize=8 * CHUNK, max_concurrency=2)

    def _key(self, sha256: str) -> str:
        if not _is_key(sha256):
            raise ValueError("not a SHA-256 key")
        return self.prefix + sha256

    def save(self, stream: BinaryIO) -> Stored:
        digest, size = hashlib.sha256(), 0
        with tempfile.TemporaryFile(dir=self.spool_dir) as spool:
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
                spool.write(chunk)
            sha256 = digest.hexdigest()
            if self.exists(sha256):
                return Stored(sha256, size, is_new=False)
            spool.seek(0)
            self.client.upload_fileobj(spool, self.bucket, self._key(sha256), Config=self.transfer)
        return Stored(sha256, size, is_new=True)

    def open(self, sha256: str) -> BinaryIO:
        return self.client.get_object(Bucket=self.bucket, Key=self._key(sha256))["Body"]

    def exists(self, sha256: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(sha256))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def delete(self, sha256: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(sha256))

    def hashes(self, older_than: float | None = None) -> Iterator[str]:
        cutoff = None if older_than is None else time.time() - older_than
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix):
            for item in page.get("Contents", ()):
                name = item["Key"][len(self.prefix) :]
                if _is_key(name) and (cutoff is None or item["LastModified"].timestamp() <= cutoff):
                    yield name

    def path(self, sha256: str) -> str | None:
        return None  # streamed from the object store


def make_storage(config) -> Storage:
    """The backend the configuration names (EVIDENCE_STORAGE): `local`, or `s3` (EVIDENCE_S3_BUCKET,
    EVIDENCE_S3_ENDPOINT_URL for a store other than AWS; credentials as boto3 finds them, e.g.
    AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)."""
    if config["EVIDENCE_STORAGE"] == "local":
        return LocalStorage(config["EVIDENCE_DIR"])
    if config["EVIDENCE_STORAGE"] == "s3":
        if not config["EVIDENCE_S3_BUCKET"]:
            raise ValueError("EVIDENCE_STORAGE is s3: set EVIDENCE_S3_BUCKET")
        client = boto3.client("s3", endpoint_url=config["EVIDENCE_S3_ENDPOINT_URL"] or None)
        return S3Storage(client, config["EVIDENCE_S3_BUCKET"], config["EVIDENCE_S3_PREFIX"])
    raise ValueError(f"EVIDENCE_STORAGE: unknown backend {config['EVIDENCE_STORAGE']!r} (local, s3)")


def get_storage() -> Storage:
    """The running app's storage."""
    return current_app.extensions["ecoflow.storage"]


def send_stored(storage: Storage, key: str, mimetype: str, name: str, as_attachment: bool) -> Response:
    """A stored file as a response: ranges for seeking in a video, a safe Content-Disposition, and
    no sniffing or scripts by the browser."""
    path = storage.path(key)
    response = send_file(
        path or storage.open(key), mimetype=mimetype, as_attachment=as_attachment, download_name=name,
        conditional=True, etag=key, max_age=0,
    )  # fmt: skip
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --- the files and the unit of work -------------------------------------------------------------

_WRITTEN = "ecoflow.evidence.written"


def note_written(session, storage: Storage, stored: Stored):
    """Remember a file this unit of work added, to remove it if the unit rolls back."""
    if stored.is_new:
        session.info.setdefault(_WRITTEN, []).append((storage, stored.sha256))


def keep_written(session):
    """after_commit: the files of the unit are the rows' now."""
    session.info.pop(_WRITTEN, None)


def remove_written(session, previous_transaction):
    """after_soft_rollback: the rows are gone, so are the files the unit added."""
    if previous_transaction.nested:
        return
    for storage, sha256 in session.info.pop(_WRITTEN, []):
        storage.delete(sha256)
