"""``dashcam model fetch``: NVIDIA's DashCamNet (the ONNX release on NGC), checked and unpacked
where the engines live, so that a Jetson goes from a fresh JetPack to the real model.

The download is the one DeepStream's TAO apps make (deepstream_tao_apps
``deepstream_app_tao_configs/download_models.sh``: NGC's ``.../versions/<version>/zip``);
the older ``pruned_v1.0.x`` releases are encrypted ``.etlt`` files whose decryption is
closed source, so only the ONNX releases are offered. NVIDIA's licence is shown and must be
accepted first. The archive is checked (a zip whose members' CRCs match, of a sane size,
with one ``.onnx``; its SHA-256 against ``--sha256`` where the user has one) and the model
against DashCamNet's tensor contract before it is put in place, in one rename.
"""

import errno
import hashlib
import os
import shutil
import tempfile
import zipfile
import zlib
from urllib.error import HTTPError, URLError
from urllib.parse import urlparse
from urllib.request import urlopen

from dashcam.errors import ModelError
from dashcam.inference.contract import resolve_contract
from dashcam.inference.onnx_io import read_tensors

NGC_URL = "https://api.ngc.nvidia.com/v2/models/nvidia/tao/dashcamnet/versions/{}/zip"
VERSIONS = ("pruned_onnx_v1.0.5", "pruned_onnx_v1.0.4")
CATALOG = "https://catalog.ngc.nvidia.com/orgs/nvidia/teams/tao/models/dashcamnet"
LICENSE = """\
DashCamNet is NVIDIA's model, not part of dashcam, and comes under NVIDIA's terms. Its
model card on NGC ({}) says:
  "License to use this model is covered by the Model EULA. By downloading the unpruned or
  pruned version of the model, you accept the terms and conditions of these licenses."
Read those terms there before you accept them.""".format(CATALOG)
MAX_BYTES = 256 * 1024 ** 2   # the ONNX release is about 7 MB; anything near this is not it
CHUNK = 256 * 1024


def folder_for(engine_dir, version):
    """Where a release is unpacked: its own folder in the engines folder."""
    return os.path.join(engine_dir, "dashcamnet_" + version)


def _disk_error(error, folder, doing):
    why = "no space left on the volume of" if error.errno == errno.ENOSPC else "cannot write to"
    return ModelError("{} {} while {} ({}): free some space or set [model] engine-dir to "
                      "another folder".format(why, folder, doing, error.strerror or error))


def download(url, target, progress=None):
    """``url`` (http(s)://, file:// or a local path) into the file ``target``; its SHA-256.
    ``progress(done, total)`` is called as it goes (``total`` None when unknown)."""
    parsed = urlparse(url)
    try:
        if parsed.scheme in ("http", "https", "file"):
            source = urlopen(url, timeout=60)
            total = source.headers.get("Content-Length") if parsed.scheme != "file" else None
        else:
            source, total = open(url, "rb"), os.path.getsize(url)
    except HTTPError as error:
        raise ModelError("{}: HTTP {} {} (check --version, or the mirror's --url)".format(
            url, error.code, error.reason))
    except URLError as error:
        raise ModelError("cannot reach {}: {} (no internet here? download the zip elsewhere "
                         "and pass --url FILE.zip)".format(parsed.netloc or url, error.reason))
    except OSError as error:
        raise ModelError("cannot read {}: {}".format(url, error.strerror or error))
    total, done, digest = int(total) if total else None, 0, hashlib.sha256()
    with source:
        try:
            with open(target, "wb") as out:
                while True:
                    chunk = _read(source, url)
                    if not chunk:
                        break
                    out.write(chunk)
                    done += len(chunk)
                    digest.update(chunk)
                    if done > MAX_BYTES:
                        raise ModelError("{} is over {} MB: not DashCamNet's ONNX release "
                                         "(about 7 MB)".format(url, MAX_BYTES // 1024 ** 2))
                    if progress is not None:
                        progress(done, total)
                out.flush()
                os.fsync(out.fileno())
        except OSError as error:
            raise _disk_error(error, os.path.dirname(target), "downloading")
    if total is not None and done != total:
        raise ModelError("{}: the download stopped after {} of {} bytes; run it again".format(
            url, done, total))
    return digest.hexdigest()


def _read(source, url):
    try:
        return source.read(CHUNK)
    except OSError as error:   # not the disk's: the connection's
        raise ModelError("the download from {} broke off ({}); run it again".format(url, error))


def check_archive(path, name, sha256=None, expected=None):
    """The ``ZipInfo`` of the ONNX model in the archive at ``path`` (``name`` in messages),
    after checking what can be checked; ``expected``: the SHA-256 ``sha256`` must match."""
    if expected and sha256 != expected.lower():
        raise ModelError("{}: SHA-256 {} is not the expected {}: a corrupt or different "
                         "download".format(name, sha256, expected))
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            try:
                bad = archive.testzip()
            except zlib.error as error:   # a damaged deflate stream, before any CRC
                bad = "a member ({})".format(error)
    except (zipfile.BadZipFile, EOFError) as error:
        raise ModelError("{} is not a readable zip archive ({}): an interrupted download or "
                         "an error page; run it again".format(name, error))
    if bad is not None:
        raise ModelError(f"{name}: {bad} is damaged (CRC mismatch): run the download again")
    if sum(m.file_size for m in members) > MAX_BYTES:
        raise ModelError("{} unpacks to over {} MB: not DashCamNet's ONNX release".format(
            name, MAX_BYTES // 1024 ** 2))
    unsafe = [m.filename for m in members if os.path.isabs(m.filename) or ".." in m.filename.split("/")]
    if unsafe:
        raise ModelError(f"{name}: refusing paths outside the folder: {', '.join(unsafe)}")
    models = [m for m in members if m.filename.lower().endswith(".onnx") and m.file_size > 0]
    if len(models) != 1:
        raise ModelError("{} holds {} .onnx files ({}): expected DashCamNet's one; the "
                         "encrypted .etlt releases (pruned_v1.0.x) cannot be used, take an "
                         "ONNX version ({})".format(name, len(models), ", ".join(
                             m.filename for m in members) or "empty", ", ".join(VERSIONS)))
    return models[0]


def install(archive_path, name, model, target):
    """Unpack the archive (checked: ``model`` is its ONNX member) into ``target``, replacing
    an earlier copy in one rename, once the model meets the contract; the model's path and
    the INT8 calibration cache's (TAO's text cache, ``TRT-...`` first line), or None."""
    parent = os.path.dirname(target)
    staging = tempfile.mkdtemp(prefix=".fetch-", dir=parent)
    try:
        try:
            with zipfile.ZipFile(archive_path) as archive:
                archive.extractall(staging)
        except OSError as error:
            raise _disk_error(error, parent, "unpacking")
        onnx_path = os.path.join(staging, model.filename)
        resolve_contract(name + ": " + model.filename, *read_tensors(onnx_path))
        old = None
        if os.path.exists(target):
            old = tempfile.mkdtemp(prefix=".old-", dir=parent)
            os.rename(target, os.path.join(old, "model"))
        os.rename(staging, target)
        if old:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return os.path.join(target, model.filename), _calibration_cache(target)


def _calibration_cache(folder):
    for root, _, files in os.walk(folder):
        for filename in sorted(files):
            path = os.path.join(root, filename)
            with open(path, "rb") as handle:
                if handle.read(4) == b"TRT-":
                    return path
    return None


def fetch(engine_dir, version=VERSIONS[0], url=None, sha256=None, progress=None):
    """Download, check and install DashCamNet ``version`` (from ``url`` if given) under
    ``engine_dir``; ``(model path, calibration cache or None, archive SHA-256)``."""
    if version not in VERSIONS:
        raise ModelError("unknown version {!r}: use one of {}".format(version, ", ".join(VERSIONS)))
    url = url or NGC_URL.format(version)
    try:
        os.makedirs(engine_dir, exist_ok=True)
        handle, archive = tempfile.mkstemp(prefix=".dashcamnet-", suffix=".zip", dir=engine_dir)
        os.close(handle)
    except OSError as error:
        raise _disk_error(error, engine_dir, "preparing the download")
    try:
        digest = download(url, archive, progress)
        member = check_archive(archive, url, digest, sha256)
        model, cache = install(archive, url, member, folder_for(engine_dir, version))
    finally:
        os.remove(archive)
    return model, cache, digest
