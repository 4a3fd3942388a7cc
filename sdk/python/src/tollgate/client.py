"""A client of the Tollgate companion's host socket (JSON-RPC 2.0, one JSON object per line).

Thread-safe and pipelined: calls from several threads share one connection and their answers are
matched by id. It connects on first use, reconnects with backoff when the companion restarts, and
sends a request again after a dropped connection; ``usage_consume`` with the same idempotency key,
so it is never counted twice.
"""

import itertools
import json
import random
import socket
import sys
import threading
import time
import uuid
from concurrent.futures import Future
from concurrent.futures import TimeoutError as _FutureTimeout

from . import wire
from .errors import ConnectionFailedError, NotSignedInError, ProtocolError, TollgateTimeoutError, error_from_rpc
from .license import verify_license_token
from .paths import default_socket_path
from .vendor_keys import VENDOR_KEYS


class _Unix:
    def __init__(self, path):
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._sock.connect(path)
        except OSError:
            self._sock.close()
            raise

    def send(self, data):
        self._sock.sendall(data)

    def recv(self):
        return self._sock.recv(65536)

    def close(self):
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()


class _Pipe:
    """A Windows named pipe with overlapped I/O (as multiprocessing.connection does it): with a
    synchronous handle, the reader thread's pending read would block every write."""

    def __init__(self, path):
        import _winapi  # Windows only

        self._winapi = _winapi
        self._handle = _winapi.CreateFile(
            path,
            _winapi.GENERIC_READ | _winapi.GENERIC_WRITE,
            0,
            _winapi.NULL,
            _winapi.OPEN_EXISTING,
            _winapi.FILE_FLAG_OVERLAPPED,
            _winapi.NULL,
        )

    def send(self, data):
        overlapped, _ = self._winapi.WriteFile(self._handle, data, overlapped=True)
        written, error = overlapped.GetOverlappedResult(True)
        if error or written != len(data):
            raise OSError("named pipe write failed (%s)" % error)

    def recv(self):
        try:
            overlapped, _ = self._winapi.ReadFile(self._handle, 65536, overlapped=True)
            _, error = overlapped.GetOverlappedResult(True)
        except OSError:
            return b""  # the companion closed its end
        if error not in (0, self._winapi.ERROR_MORE_DATA):
            return b""
        return bytes(overlapped.getbuffer())

    def close(self):
        try:
            self._winapi.CloseHandle(self._handle)
        except OSError:
            pass


class _Pending:
    __slots__ = ("line", "check", "future", "attempts")

    def __init__(self, line, check):
        self.line = line
        self.check = check
        self.future = Future()
        self.attempts = 0


class TollgateClient:
    def __init__(self, path=None, keys=None, timeout=10.0, retries=3, backoff=(0.05, 2.0)):
        """``path``: the socket or pipe (default TOLLGATE_SOCKET, else the companion's default path).
        ``keys``: the vendor's pinned license keys, a JWKS dict (default: the vendor_keys module).
        ``timeout``: seconds one request may take, reconnects included. ``retries``: how many times a
        request is sent again after the connection dropped. ``backoff``: first and longest reconnect
        delay in seconds (doubled each attempt, with jitter)."""
        self.path = path or default_socket_path()
        self._keys = VENDOR_KEYS if keys is None else keys
        self._timeout = timeout
        self._retries = retries
        self._backoff = backoff
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._connect_lock = threading.Lock()
        self._pending = {}
        self._conn = None
        self._listeners = []
        self._closed = False

    # ── The host methods ────────────────────────────────────────────────────────────────────────

    def gate_check(self, feature):
        """May the user use this feature? A denial is an answer (allowed False, code, upgrade)."""
        return self._call("gate.check", {"feature": feature}, wire.is_decision)

    def usage_check(self, operation, units=1):
        """Would ``units`` of ``operation`` be allowed now? Records nothing."""
        return self._call("usage.check", {"operation": operation, "units": units}, wire.is_decision)

    def usage_consume(self, operation, units=1, idempotency_key=None):
        """Spends ``units`` when allowed. The idempotency key (generated unless given) is sent again
        unchanged on every retry, so nothing is counted twice."""
        key = idempotency_key or "tg-" + str(uuid.uuid4())
        params = {"operation": operation, "units": units, "idempotencyKey": key}
        return self._call("usage.consume", params, wire.is_consume_outcome)

    def usage_get(self):
        return self._call("usage.get", {}, wire.is_usage)

    def devices(self):
        """The account's active devices, this computer marked: ``{"devices": [{"deviceId", "name", "os",
        "appVersion", "activatedAt", "lastSeenAt", "thisDevice"}], "maxDevices"}`` (-1: unlimited).
        Read-only: the user releases devices in the companion's window."""
        return self._call("devices.list", {}, wire.is_devices)

    def license(self, now=None):
        """The signed license, verified here against the pinned keys: a dict with ``token``,
        ``license`` (the companion's view) and ``claims``. Raises the typed error when it does not verify."""
        answer = self._call("license.get", {}, wire.is_license_answer)
        if answer["token"] is None:
            raise NotSignedInError("No license: the companion is not signed in.")
        claims = verify_license_token(answer["token"], self._keys, now)
        return {"token": answer["token"], "license": answer["license"], "claims": claims}

    def on_license_changed(self, listener):
        """Calls ``listener(change)`` (on the client's reader thread) for every license.changed;
        resubscribes after a reconnect. Returns a function that unsubscribes."""
        first = not self._listeners
        self._listeners.append(listener)
        if first:
            try:
                self._call("license.subscribe", {}, wire.is_subscribed)
            except BaseException:
                self._listeners.remove(listener)
                raise

        def unsubscribe():
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def call(self, method, params=None):
        """Any host method by name, unchecked (for methods newer than this client)."""
        return self._call(method, params or {}, wire.anything)

    def close(self):
        self._closed = True
        with self._lock:
            pending, self._pending = self._pending, {}
            conn, self._conn = self._conn, None
        for entry in pending.values():
            self._settle(entry, ConnectionFailedError("The client was closed."))
        if conn is not None:
            conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ── Requests ────────────────────────────────────────────────────────────────────────────────

    def _call(self, method, params, check):
        if self._closed:
            raise ConnectionFailedError("The client was closed.")
        request_id = next(self._ids)
        line = (json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}) + "\n").encode()
        entry = _Pending(line, check)
        with self._lock:
            self._pending[request_id] = entry
        self._transmit(request_id, entry)
        try:
            return entry.future.result(timeout=self._timeout)
        except _FutureTimeout:
            with self._lock:
                self._pending.pop(request_id, None)
            raise TollgateTimeoutError("%s: no answer within %s s." % (method, self._timeout)) from None

    @staticmethod
    def _settle(entry, error=None, value=None):
        if entry.future.done():
            return
        if error is not None:
            entry.future.set_exception(error)
        else:
            entry.future.set_result(value)

    def _transmit(self, request_id, entry):
        while True:
            try:
                conn = self._connection()
            except ConnectionFailedError as error:
                with self._lock:
                    self._pending.pop(request_id, None)
                self._settle(entry, error)
                return
            with self._lock:
                if self._pending.get(request_id) is not entry:
                    return
                if self._conn is not conn:
                    continue  # lost while we connected: connect again
                try:
                    conn.send(entry.line)
                    return
                except OSError:
                    pass
            self._lost(conn)  # sends what is pending again, this request included
            return

    # ── The connection ──────────────────────────────────────────────────────────────────────────

    def _connection(self):
        with self._connect_lock:
            if self._conn is not None:
                return self._conn
            last = None
            for attempt in range(self._retries + 1):
                if attempt:
                    ceiling = min(self._backoff[1], self._backoff[0] * 2 ** (attempt - 1))
                    time.sleep(ceiling / 2 + random.random() * ceiling / 2)
                if self._closed:
                    break
                try:
                    conn = _Pipe(self.path) if sys.platform == "win32" else _Unix(self.path)
                except OSError as error:
                    last = error
                    continue
                with self._lock:
                    self._conn = conn
                threading.Thread(target=self._read, args=(conn,), daemon=True).start()
                if self._listeners:
                    # A new connection has no subscription: ask again for the listeners registered.
                    line = {"jsonrpc": "2.0", "id": next(self._ids), "method": "license.subscribe", "params": {}}
                    try:
                        conn.send((json.dumps(line) + "\n").encode())
                    except OSError:
                        pass
                return conn
            raise ConnectionFailedError(
                "Cannot reach the Tollgate companion at %s: %s. Is it running?" % (self.path, last or "closed")
            )

    def _read(self, conn):
        buffer = b""
        while True:
            try:
                chunk = conn.recv()
            except (OSError, ValueError):
                chunk = b""
            if not chunk:
                break
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                if not line.strip():
                    continue
                try:
                    message = json.loads(line)
                except ValueError:
                    self._broken(conn, "The companion sent a line that is not JSON.")
                    return
                self._handle(message)
        self._lost(conn)

    def _broken(self, conn, reason):
        """An answer that cannot be attributed: fail what waits on this connection, start afresh."""
        with self._lock:
            if self._conn is conn:
                self._conn = None
            pending, self._pending = self._pending, {}
        for entry in pending.values():
            self._settle(entry, ProtocolError(reason))
        conn.close()

    def _lost(self, conn):
        """The connection dropped: send what is unanswered again on a new one, up to ``retries`` times."""
        with self._lock:
            if self._conn is not conn:
                return
            self._conn = None
            if self._closed:
                return
            retry = []
            for request_id, entry in list(self._pending.items()):
                entry.attempts += 1
                if entry.attempts > self._retries:
                    del self._pending[request_id]
                    self._settle(entry, ConnectionFailedError("The companion closed the connection before answering."))
                else:
                    retry.append((request_id, entry))
        conn.close()
        for request_id, entry in retry:
            self._transmit(request_id, entry)

    def _handle(self, message):
        if not isinstance(message, dict):
            return
        if message.get("method") == "license.changed":
            params = message.get("params")
            if wire.is_license_changed(params):
                for listener in list(self._listeners):
                    listener(params)
            return
        request_id = message.get("id")
        if not isinstance(request_id, int) or isinstance(request_id, bool):
            return
        with self._lock:
            entry = self._pending.pop(request_id, None)
        if entry is None:
            return
        error = message.get("error")
        if isinstance(error, dict):
            if not isinstance(error.get("code"), int) or not isinstance(error.get("message"), str):
                self._settle(entry, ProtocolError("The companion sent an error without a code and message."))
            else:
                self._settle(entry, error_from_rpc(error))
        elif "result" in message and entry.check(message["result"]):
            self._settle(entry, value=message["result"])
        else:
            self._settle(entry, ProtocolError("The companion answered with a result this client does not understand."))
