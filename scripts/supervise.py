"""Child processes for scripts/serve.py: start, watch, restart, stop, and their logs.

Each child runs in its own session (so Ctrl-C reaches only the supervisor, which stops
them in order) and dies with the supervisor even if it is killed with -9 (``setpriv
--pdeathsig``). A child that exits unexpectedly is restarted with a growing pause; a
gunicorn master that dies takes its workers' process group with it before the restart.

Logs: every child's output comes through a pipe to one writer here, so the files rotate
safely however many processes write: JSON lines to <LOG_DIR>/scenic.log (rotated); the
terminal shows only warnings, errors and a line per worker process started.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

CONSOLE_LEVELS = {"WARNING", "ERROR", "CRITICAL"}
_GUNICORN = re.compile(r"^\[[^\]]+\] \[(\d+)\] \[(\w+)\] (.*)$")


class RotatingFile:
    """One writer, many threads: a file rotated at ``max_bytes``, ``keep`` old copies."""

    def __init__(self, path: Path, max_bytes: int, keep: int):
        self.path, self.max_bytes, self.keep = path, max_bytes, keep
        self._lock = threading.Lock()
        self._fh = open(path, "a", encoding="utf-8")

    def write(self, line: str) -> None:
        with self._lock:
            self._fh.write(line + "\n")
            self._fh.flush()
            if self._fh.tell() >= self.max_bytes:
                self._fh.close()
                rotate(self.path, self.keep)
                self._fh = open(self.path, "a", encoding="utf-8")

    def close(self) -> None:
        with self._lock:
            self._fh.close()


def rotate(path: Path, keep: int) -> None:
    """path -> path.1 -> ... -> path.<keep> (the oldest is dropped)."""
    for i in range(keep - 1, 0, -1):
        older = path.with_name(f"{path.name}.{i}")
        if older.exists():
            os.replace(older, path.with_name(f"{path.name}.{i + 1}"))
    if path.exists():
        os.replace(path, path.with_name(f"{path.name}.1"))


class Console:
    """The terminal: short human lines, never the flood."""

    def __init__(self, out=sys.stdout):
        self.out = out
        self._lock = threading.Lock()

    def say(self, text: str, source: str = "", level: str = "") -> None:
        stamp = time.strftime("%H:%M:%S")
        who = f"{source}: " if source else ""
        tag = f"{level} " if level and level != "INFO" else ""
        with self._lock:
            print(f"{stamp} {tag}{who}{text}", file=self.out, flush=True)


class LogRouter:
    def __init__(self, log_dir: Path, max_bytes: int, keep: int, console: Console):
        log_dir.mkdir(parents=True, exist_ok=True)
        self.file = RotatingFile(log_dir / "scenic.log", max_bytes, keep)
        self.console = console

    def line(self, source: str, text: str) -> None:
        text = text.rstrip("\n")
        if not text:
            return
        try:
            entry = json.loads(text) if text.startswith("{") else None
        except ValueError:
            entry = None
        if isinstance(entry, dict):
            entry["proc"] = source
            self.file.write(json.dumps(entry, ensure_ascii=False))
            level = str(entry.get("level", "")).upper()
            if level in CONSOLE_LEVELS:
                self.console.say(str(entry.get("msg", "")), source, level)
            return
        self.file.write(json.dumps({"ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                    "proc": source, "text": text}, ensure_ascii=False))
        m = _GUNICORN.match(text)
        if m:
            level, msg = m.group(2).upper(), m.group(3)
            booted = re.match(r"Booting worker with pid: (\d+)", msg)
            if booted:
                self.console.say(f"worker process {booted.group(1)} started", source)
            elif level in CONSOLE_LEVELS:
                self.console.say(msg, source, level)
        elif text.startswith("Traceback") or re.match(r"^[\w.]+(Error|Exception)\b", text) \
                or text.startswith("Error:"):
            self.console.say(text, source, "ERROR")

    def close(self) -> None:
        self.file.close()


@dataclass
class Child:
    name: str
    cmd: list
    env: dict = field(default_factory=dict)
    once: bool = False                 # a job that ends by itself (exit 0: done)
    describe: str = ""
    stage: int = 0                     # stopped after every child of a higher stage
    proc: subprocess.Popen | None = None
    started_at: float = 0.0
    restarts: int = 0
    next_start: float = 0.0
    done: bool = False


class Supervisor:
    def __init__(self, router: LogRouter, console: Console, pid_file: Path):
        self.router, self.console, self.pid_file = router, console, pid_file
        self.children: list[Child] = []
        self._pdeathsig = shutil.which("setpriv")

    def start(self, child: Child) -> None:
        cmd = list(child.cmd)
        if self._pdeathsig:
            cmd = [self._pdeathsig, "--pdeathsig", "TERM", "--", *cmd]
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **child.env}
        child.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                      start_new_session=True)
        child.started_at = time.monotonic()
        if child not in self.children:
            self.children.append(child)
        threading.Thread(target=self._pump, args=(child, child.proc), daemon=True,
                         name=f"log-{child.name}").start()
        self.console.say(f"started {child.describe or ' '.join(child.cmd)} (pid "
                         f"{child.proc.pid})", child.name)
        self._write_pids()

    def _pump(self, child: Child, proc: subprocess.Popen) -> None:
        for raw in iter(proc.stdout.readline, b""):
            self.router.line(child.name, raw.decode("utf-8", errors="replace"))
        proc.stdout.close()

    def _write_pids(self) -> None:
        pids = {c.name: c.proc.pid for c in self.children if c.proc and c.proc.poll() is None}
        tmp = self.pid_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"supervisor": os.getpid(), "children": pids}))
        os.replace(tmp, self.pid_file)

    def watch(self) -> None:
        """Restart children that died; called every half second by the main loop."""
        now = time.monotonic()
        for child in self.children:
            if child.done or child.proc is None:
                continue
            rc = child.proc.poll()
            if rc is None:
                if now - child.started_at > 60:
                    child.restarts = 0          # it has run a while: forget old failures
                continue
            if child.next_start == 0.0:
                _kill_group(child.proc.pid, signal.SIGKILL)  # orphaned gunicorn workers
                if child.once and rc == 0:
                    child.done = True
                    self.console.say("finished", child.name)
                    self._write_pids()
                    continue
                pause = min(30.0, 0.5 * (2 ** child.restarts))
                child.restarts += 1
                child.next_start = now + pause
                self.console.say(f"exited with status {rc}; restarting in {pause:g} s",
                                 child.name, "WARNING")
            elif now >= child.next_start:
                child.next_start = 0.0
                self.start(child)

    def stop_all(self, timeout: float = 15.0) -> None:
        """Background work first (it talks to the site), then the front and the pools."""
        for stage in sorted({c.stage for c in self.children}, reverse=True):
            live = [c for c in self.children if c.stage == stage and c.proc
                    and c.proc.poll() is None]
            for child in live:
                _kill_group(child.proc.pid, signal.SIGTERM)
            end = time.monotonic() + timeout
            for child in live:
                try:
                    child.proc.wait(timeout=max(0.1, end - time.monotonic()))
                except subprocess.TimeoutExpired:
                    self.console.say("did not stop in time; killed", child.name, "WARNING")
        for child in self.children:
            if child.proc is not None:
                _kill_group(child.proc.pid, signal.SIGKILL)   # stragglers of each group
                child.proc.wait()
        self.pid_file.unlink(missing_ok=True)


def _kill_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
