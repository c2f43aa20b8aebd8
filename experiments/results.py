"""A run folder: atomic writes, checkpoints for resuming, and the machine-readable record.

Layout of ``--out``:
    config.json       config, seed, versions, backend (written first; identifies the run)
    checkpoint.npz    loop state after the last finished chunk (removed when the run completes)
    results.jsonl     one object per (generation, metric): mean, se, quantiles, theory, z, verdict
    samples.npz       per-replicate values, metric -> [G, R]
    figure.png        simulation mean ± 2 SE with the theory curve
Every file is written to a temporary name in the same folder and renamed into place, so a reader
never sees half a file and an interrupted run leaves only complete files behind.
"""

import contextlib
import datetime
import hashlib
import importlib.metadata
import io
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import jax
import numpy as np

import collapse
from collapse.engine import LoopState
from collapse.errors import ConfigError


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def atomic_write_npz(path: Path, **arrays) -> None:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())


def _version(package: str):
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _git_commit():
    """The source tree's commit (with '+dirty' when it has uncommitted changes), or None outside a checkout."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit + ("+dirty" if dirty else "")


def environment_record() -> dict:
    """Where and with what a run (or one resumed part of it) was computed: versions, backend, devices, the
    command line, XLA_FLAGS, the source commit and a UTC timestamp."""
    return {
        "started": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": sys.argv,
        "git_commit": _git_commit(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "collapse": collapse.__version__,
        **{name: _version(name) for name in ("jax", "jaxlib", "numpy", "scipy", "flax", "optax")},
        "backend": jax.default_backend(),
        "devices": [str(d) for d in jax.devices()],
        "process_count": jax.process_count(),
        "xla_flags": os.environ.get("XLA_FLAGS"),
        "x64_global": bool(jax.config.jax_enable_x64),
        "prng_impl": str(jax.config.jax_default_prng_impl),
    }


def config_hash(config: dict) -> str:
    """Short stable hash of the part of the record that determines the numbers."""
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:10]


def check_writable(out: Path) -> None:
    """Create ``out`` if needed and prove a file can be written there; ConfigError otherwise."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".probe."):
            pass
    except OSError as err:
        raise ConfigError("out", str(out), f"a writable folder ({err.strerror or err})") from None


class RunDir:
    """One run's folder. ``config`` is the JSON-able record of everything that sets the numbers."""

    def __init__(self, out: Path, config: dict, writer: bool = True):
        self.out = Path(out)
        self.config = config
        self.hash = config_hash(config)
        self.writer = writer  # in a multi-process run only process 0 writes; the others read (resume) only

    def path(self, name: str) -> Path:
        return self.out / name

    def status(self) -> str:
        """'new', 'resume' (checkpoint of this config), or 'complete'; ConfigError if the folder
        holds a different run."""
        cfg_path = self.path("config.json")
        if not cfg_path.exists():
            return "new"
        try:
            old = json.loads(cfg_path.read_text()).get("config_hash")
        except (OSError, json.JSONDecodeError):
            old = None
        if old != self.hash:
            raise ConfigError("out", str(self.out),
                              "a new folder, or one holding a run of the same config (it holds another run; "
                              "pass --overwrite to replace it)")
        if self.path("results.jsonl").exists() and not self.path("checkpoint.npz").exists():
            return "complete"
        return "resume"

    def lock(self):
        """Hold ``<out>/.lock`` (with this process's pid) while writing: a second process given the same folder is
        refused; a lock left by a process that no longer runs (kill -9) is taken over. Readers take no lock."""
        return RunLock(self.out) if self.writer else contextlib.nullcontext()

    def clear(self) -> None:
        if not self.writer:
            return
        for name in ("config.json", "checkpoint.npz", "results.jsonl", "samples.npz", "figure.png", "report.md"):
            self.path(name).unlink(missing_ok=True)

    def write_config(self, extra: dict) -> None:
        """Write config.json: the config, its hash, ``extra`` (runner, precision, seeds…) and one environment record
        per part of the run — a resumed run appends its own part instead of overwriting the first one's."""
        if not self.writer:
            return
        parts = []
        path = self.path("config.json")
        if path.exists():
            try:
                old = json.loads(path.read_text())
                parts = old.get("parts", []) if old.get("config_hash") == self.hash else []
            except (OSError, json.JSONDecodeError):
                parts = []
        record = {"config": self.config, "config_hash": self.hash, **extra, "parts": [*parts, environment_record()]}
        atomic_write_text(path, json.dumps(record, indent=2, default=str) + "\n")

    def save_checkpoint(self, state: LoopState) -> None:
        if not self.writer:
            return
        leaves = jax.tree_util.tree_leaves(state.carry)
        arrays = {f"leaf_{i}": a for i, a in enumerate(leaves)}
        arrays.update({f"metric__{k}": v for k, v in state.metrics.items()})
        atomic_write_npz(self.path("checkpoint.npz"), generation=np.int64(state.generation),
                         config_hash=np.array(self.hash), **arrays)

    def load_checkpoint(self) -> LoopState | None:
        path = self.path("checkpoint.npz")
        if not path.exists():
            return None
        with np.load(path) as z:
            if str(z["config_hash"]) != self.hash:
                return None
            n_leaves = sum(1 for k in z.files if k.startswith("leaf_"))
            leaves = [z[f"leaf_{i}"] for i in range(n_leaves)]
            metrics = {k[len("metric__"):]: z[k] for k in z.files if k.startswith("metric__")}
            return LoopState(int(z["generation"]), leaves, metrics)

    def finish(self, rows: list[dict], samples: dict) -> None:
        if not self.writer:
            return
        atomic_write_npz(self.path("samples.npz"), **samples)
        text = "".join(json.dumps(r, default=_json_default) + "\n" for r in rows)
        atomic_write_text(self.path("results.jsonl"), text)
        self.path("checkpoint.npz").unlink(missing_ok=True)

    def read_results(self) -> list[dict]:
        return [json.loads(line) for line in self.path("results.jsonl").read_text().splitlines() if line]


def _json_default(x):
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    raise TypeError(f"not JSON serialisable: {type(x)}")


class RunLock:
    """An exclusive, pid-stamped lock file in a run folder (a context manager). Entering also removes the hidden
    ``.*.tmp`` files that an interrupted atomic write can leave: the lock proves no live writer owns them."""

    def __init__(self, out: Path):
        self.path = Path(out) / ".lock"

    def __enter__(self):
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                owner = _lock_owner(self.path)
                if owner is not None and _alive(owner) and owner != os.getpid():
                    raise ConfigError("out", str(self.path.parent), f"a folder no other run is writing (process "
                                      f"{owner} holds its lock; wait for it, or use another --out)") from None
                self.path.unlink(missing_ok=True)  # stale: its owner is gone
                continue
            with os.fdopen(fd, "w") as f:
                f.write(str(os.getpid()))
            for tmp in self.path.parent.glob(".*.tmp"):
                tmp.unlink(missing_ok=True)
            return self
        raise ConfigError("out", str(self.path.parent), "a folder whose lock can be taken")

    def __exit__(self, *exc):
        if _lock_owner(self.path) == os.getpid():
            self.path.unlink(missing_ok=True)
        return False


def _lock_owner(path: Path):
    try:
        return int(path.read_text().strip() or -1)
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
