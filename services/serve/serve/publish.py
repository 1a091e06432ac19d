"""Publishes a model's serving data where its serve tasks read it: the pipeline's online store and
training statistics (serve.sources.FILES, from a directory in the pipeline's layout) to the
serving-data location, with `{model_version}` replaced by that model's version. The deploy job
runs it before the rollout:

  ./pants run services/serve:serve -- publish --model flight-delay:<version> --to "$SERVING"

Every file is checked before anything is written. A version's data never changes under the tasks
that read it: a file already published for the version is left as it is when it is the same and
refused when it differs. Each file is written whole (on S3 one upload; in a directory written
aside, then renamed).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Callable
from pathlib import Path, PurePosixPath

import fsspec

from model_registry.store import MODEL_NAME
from serve.settings import tag_version
from serve.sources import FILES, ServingDataError, file_url, for_model
from storage.atomic import atomic_output
from storage.digest import sha256_of, sha256_of_stream
from storage.remote import is_remote, storage_errors


class PublishError(RuntimeError):
    """The serving data cannot be published; the message names what and where."""


def model_version(text: str) -> str:
    """The version of a `flight-delay:<version>` tag."""
    version = tag_version(text)
    if version is None:
        raise PublishError(f"--model {text!r}: expected {MODEL_NAME}:<version>")
    return version


def publish(data: Path, where: str, log: Callable[[str], None] = lambda _: None) -> list[str]:
    """Copy the serving data in `data` to the location `where` (a model's: no placeholder left);
    the URLs written, in order."""
    missing = [str(data / name) for name in FILES if not (data / name).is_file()]
    if missing:
        raise PublishError(
            f"no serving data to publish: {', '.join(missing)} missing (the pipeline's "
            "features and online_store stages write them)"
        )
    to_write = []
    for name in FILES:
        published = _published_digest(where, name)
        if published is None:
            to_write.append(name)
        elif published == _local_digest(data / name):
            log(f"{file_url(where, name)} is published already, unchanged")
        else:
            raise PublishError(
                f"{file_url(where, name)} already holds another {name.name} for this model "
                f"version than {data / name}; a published version is never replaced"
            )
    for name in to_write:
        _write(data / name, where, name)
        log(f"published {data / name} to {file_url(where, name)}")
    return [file_url(where, name) for name in to_write]


def _local_digest(path: Path) -> str:
    try:
        return sha256_of(path)
    except OSError as error:
        raise PublishError(f"cannot read {path}: {error}") from None


def _published_digest(where: str, name: PurePosixPath) -> str | None:
    target = file_url(where, name)
    with storage_errors("read", target, PublishError):
        # fsspec reads a directory as well as S3: one way to look.
        filesystem, path = fsspec.core.url_to_fs(target)
        if not filesystem.isfile(path):
            return None
        with filesystem.open(path, "rb") as stream:
            return sha256_of_stream(stream)


def _write(source: Path, where: str, name: PurePosixPath) -> None:
    target = file_url(where, name)
    with storage_errors("write", target, PublishError):
        if is_remote(where):
            filesystem, path = fsspec.core.url_to_fs(target)
            filesystem.put_file(str(source), path)
            return
        with atomic_output(target.removeprefix("file://")) as part:
            shutil.copyfile(source, part)


def main(argv: list[str] | None = None, prog: str = "publish") -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help=f"the model's tag, {MODEL_NAME}:<version>")
    parser.add_argument(
        "--to", required=True, help="the serving-data location; {model_version} is replaced"
    )
    parser.add_argument(
        "--data", type=Path, default=Path("data"), help="the pipeline's data (default: data)"
    )
    args = parser.parse_args(argv)
    try:
        where = for_model(args.to, model_version(args.model), named="--to")
        publish(args.data, where, log=print)
    except (PublishError, ServingDataError) as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
