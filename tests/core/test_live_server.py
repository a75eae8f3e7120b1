"""The tests' HTTP server (testkit.serve_app, under every live_server): a response still
streaming when its test ends must not write into the files the next test opens.

waitress wakes its loop by writing a byte to a pipe. After server.close() that pipe's
descriptor numbers are free, and the next file opened gets one of them; a stream's thread
that kept running (a dashboard's server-sent events) then wrote b"x" over the first byte
of the next test's SQLite database: "file is not a database" for every new connection
(seen twice in CI, in the dashboard test that follows another with an open stream)."""
from __future__ import annotations

import os
import threading
import time

import requests

from testkit import serve_app


def test_a_stream_left_running_never_writes_into_the_next_tests_files(tmp_path):
    next_test_started, done = threading.Event(), threading.Event()

    def endless(environ, start_response):          # like /crowd/stream: ends when it likes
        start_response("200 OK", [("Content-Type", "text/event-stream")])

        def events():
            yield b"data: {}\n\n"
            next_test_started.wait(10)              # between two events, the test ends
            try:
                for _ in range(50):
                    yield b"data: {}\n\n"
            finally:
                done.set()
        return events()

    with serve_app(endless, threads=2) as base:
        stream = requests.get(base + "/", stream=True, timeout=5)
        assert next(stream.iter_content(16))       # streaming when the test ends
    # The next test opens its files: they take the lowest free descriptor numbers.
    files = [tmp_path / f"next-{i}.db" for i in range(8)]
    fds = [os.open(f, os.O_RDWR | os.O_CREAT, 0o600) for f in files]
    try:
        next_test_started.set()                    # the old stream goes on
        assert done.wait(10)
        time.sleep(0.1)
    finally:
        for fd in fds:
            os.close(fd)
        stream.close()
    assert [f.read_bytes() for f in files] == [b""] * len(files)
