"""The layout's rules, checked on every module's import statements (tier 1: no sockets, no processes).

common/coach knows no sockets or bus; nothing under common/ imports services/ (the CLI names
services only by module path in its process table); the central side reaches devices only through
MQTT; the bus knows no service, command or central code; no service imports another service.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def source_tree(into: Path) -> Path:
    """The project's files as they stand (tracked and new, not ignored) copied into `into`, to
    build a wheel from: setuptools builds inside the source folder (build/, *.egg-info), and a
    build/ left in the checkout by one run was packed, stale, by a later one."""
    import shutil
    import subprocess

    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True, text=True)
    if listed.returncode != 0:  # not a git checkout: build where it stands
        return REPO
    for name in listed.stdout.splitlines():
        if (REPO / name).is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, into / name)
    return into


def imported_modules(path: Path, root: Path = REPO) -> set[str]:
    """Every module an import statement in `path` names (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def modules_under(folder: str, root: Path = REPO) -> list[Path]:
    return sorted((root / folder).rglob("*.py"))


def violations(folder: str, forbidden: tuple[str, ...], root: Path = REPO) -> list[str]:
    found = []
    for path in modules_under(folder, root):
        for name in sorted(imported_modules(path, root)):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                found.append(f"{path.relative_to(root)} imports {name}")
    return found


RULES = {
    "common/coach": ("zmq", "paho", "common.bus", "common.cli", "common.central", "services", "models"),
    "common": ("services",),
    "common/central": ("zmq", "common.bus.messages", "common.bus.sockets", "common.bus.topics", "common.coach",
                       "common.cli", "services", "models"),
    "common/bus": ("services", "common.cli", "common.central"),
}


@pytest.mark.parametrize("folder", sorted(RULES))
def test_import_rules_of_each_part(folder):
    assert violations(folder, RULES[folder]) == []


def test_no_service_imports_another_service():
    found = []
    services = sorted(p.stem if p.is_file() else p.name for p in (REPO / "services").iterdir()
                      if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").exists())
    for name in services:
        own = f"services.{name}"
        for path in [REPO / "services" / f"{name}.py"] if (REPO / "services" / f"{name}.py").exists() \
                else modules_under(f"services/{name}"):
            for imported in imported_modules(path):
                if imported.startswith("services.") and not (imported == own or imported.startswith(own + ".")):
                    found.append(f"{path.relative_to(REPO)} imports {imported}")
    assert services, "no services found"
    assert found == []


def test_the_checker_sees_a_violation(tmp_path):
    """The rules above would fail on a coaching module that imports the bus."""
    bad = tmp_path / "common" / "coach" / "bad.py"
    bad.parent.mkdir(parents=True)
    bad.write_text("from common.bus.sockets import Publisher\nimport services.camera\n")
    assert violations("common/coach", RULES["common/coach"], tmp_path) == [
        "common/coach/bad.py imports common.bus.sockets", "common/coach/bad.py imports common.bus.sockets.Publisher",
        "common/coach/bad.py imports services.camera"]


def test_readme_map_names_every_part_of_common():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    parts = [p.name for p in (REPO / "common").iterdir() if p.is_dir() and (p / "__init__.py").exists()]
    assert sorted(parts) == ["bus", "central", "cli", "coach"]
    for part in parts:
        assert f"`common/{part}/`" in readme, f"README's map does not name common/{part}/"
        doc = (REPO / "common" / part / "__init__.py").read_text(encoding="utf-8")
        assert doc.startswith('"""') and "import" in doc, f"common/{part}/__init__.py lacks its docstring of rules"


def test_the_wheel_carries_the_moved_package_data(tmp_path):
    """The routines, schemas, locales and every sub-package (the renderer's included) are in
    the package `pip install .` builds (pip fetches setuptools from PyPI for the build)."""
    import subprocess
    import sys
    import zipfile

    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "-w", str(tmp_path),
                           str(source_tree(tmp_path / "source"))],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    # [ship]: the build printed ~175 lines of setuptools warnings (data folders that "would be
    # ignored", the license table). Byte-compiling notes come from PYTHONDONTWRITEBYTECODE, not us.
    noise = [line for line in (done.stdout + done.stderr).splitlines()
             if ("Warning" in line or "would be ignored" in line or "deprecated" in line.lower())]
    assert not noise, "\n".join(noise[:20])
    names = zipfile.ZipFile(next(tmp_path.glob("silvergym-*.whl"))).namelist()
    for wanted in ("common/coach/routines/squat.json", "common/central/schemas/session.schema.json",
                   "common/locales/ko.json", "common/cli/__main__.py", "common/bus/runtime.py",
                   "services/renderer/screen.py", "models/catalog.toml"):
        assert wanted in names, f"{wanted} is missing from the wheel"


def test_the_installed_wheel_starts_the_renderer_from_another_folder(tmp_path):
    """[ship] (in part): `pip install .` used to build a package without services.renderer. The
    wheel is installed (without dependencies) into a fresh venv that borrows this venv's installed
    dependencies through a .pth file, so nothing is downloaded; then `silvergym screenshots` and
    `silvergym service renderer` run from a folder where the source tree cannot be imported."""
    import os
    import signal
    import site
    import subprocess
    import sys

    from tests.conftest import wait_for

    wheels = tmp_path / "wheels"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels),
                            str(source_tree(tmp_path / "source"))],
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-2000:]
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    inner = subprocess.run([str(python), "-c", "import site; print(site.getsitepackages()[0])"],
                           capture_output=True, text=True, check=True).stdout.strip()
    # The wheel's own files first, then this venv's dependencies (numpy, pygame, zmq, ...).
    (Path(inner) / "zz_borrowed_dependencies.pth").write_text(site.getsitepackages()[0] + "\n")
    installed = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
                                str(next(wheels.glob("silvergym-*.whl")))], capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr[-2000:]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "PYTHONPATH": ""}
    where = subprocess.run([str(python), "-c", "import services.renderer, common; print(common.__file__)"],
                           capture_output=True, text=True, cwd=elsewhere, env=env, timeout=60)
    assert where.returncode == 0 and str(REPO) not in where.stdout, where.stdout + where.stderr
    shots = subprocess.run([str(python), "-m", "common.cli", "screenshots", "--out", str(elsewhere / "shots")],
                           capture_output=True, text=True, cwd=elsewhere, env=env, timeout=120)
    assert shots.returncode == 0, shots.stderr[-2000:]
    assert len(list((elsewhere / "shots").glob("*.png"))) >= 5
    config = elsewhere / "c.toml"
    config.write_text(f'[bus]\nruntime_dir = "{tmp_path / "run"}"\n[renderer]\ndisplay = "headless"\nvoice = false\n')
    renderer = subprocess.Popen([str(python), "-m", "common.cli", "service", "renderer", "--config", str(config)],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=elsewhere, env=env)
    socket = tmp_path / "run" / "renderer.sock"  # bound once the renderer's loop runs
    try:
        wait_for(lambda: socket.exists() or renderer.poll() is not None, 30, what="the renderer to start")
        alive = renderer.poll() is None
    finally:
        renderer.send_signal(signal.SIGTERM)
        out, _ = renderer.communicate(timeout=10)
    assert alive and socket.exists(), out
    assert renderer.returncode == 0 and "ModuleNotFoundError" not in out, out
