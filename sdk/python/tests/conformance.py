"""The conformance vectors (sdk/conformance/vectors.json) run with the Python SDK.

Started by test/integration/sdk/python.test.ts against a real companion and server; see
sdk/conformance/README.md for the step kinds and the driver protocol. Exits 1 when a step fails.
"""

import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

from tollgate import ERROR_CLASSES, TollgateClient, TollgateError, assert_allowed  # noqa: E402


def mismatch(expected, actual, at="$"):
    if expected == "$string":
        return None if isinstance(actual, str) else "%s: expected a string, got %r" % (at, actual)
    if expected == "$absent":
        return None if actual is _ABSENT else "%s: expected absent, got %r" % (at, actual)
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return "%s: expected %d items, got %r" % (at, len(expected), None if actual is _ABSENT else actual)
        for index, item in enumerate(expected):
            problem = mismatch(item, actual[index], "%s[%d]" % (at, index))
            if problem:
                return problem
        return None
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return "%s: expected an object, got %r" % (at, actual)
        for key, value in expected.items():
            problem = mismatch(value, actual.get(key, _ABSENT), "%s.%s" % (at, key))
            if problem:
                return problem
        return None
    if actual is _ABSENT or type(expected) is not type(actual) or expected != actual:
        return "%s: expected %r, got %r" % (at, expected, None if actual is _ABSENT else actual)
    return None


_ABSENT = object()


def error_mismatch(expected, error):
    cls = ERROR_CLASSES.get(expected)
    if cls is None:
        return "no error class for " + expected
    if not isinstance(error, cls) or not isinstance(error, TollgateError) or error.code != expected:
        return "expected %s (%s), got %s: %s" % (cls.__name__, expected, type(error).__name__, error)
    return None


def invoke(client, method, params):
    if method == "gate.check":
        return client.gate_check(params["feature"])
    if method == "usage.check":
        return client.usage_check(params["operation"], params.get("units", 1))
    if method == "usage.consume":
        return client.usage_consume(params["operation"], params.get("units", 1), params.get("idempotencyKey"))
    if method == "usage.get":
        return client.usage_get()
    if method == "devices.list":
        return client.devices()
    return client.call(method, params)


class Runner:
    def __init__(self):
        env = os.environ
        self.keys = {
            "server": json.loads(env["TOLLGATE_CONFORMANCE_JWKS"]),
            "wrong": json.loads(env["TOLLGATE_CONFORMANCE_WRONG_JWKS"]),
            "none": {"keys": []},
        }
        self.socket = env["TOLLGATE_SOCKET"]
        # No path: the client finds the socket itself (TOLLGATE_SOCKET, set by the driver).
        self.main = TollgateClient(keys=self.keys["server"], retries=12, backoff=(0.05, 1.0))
        self.client = self.main
        self.clients = [self.main]
        self.changes = []
        self.mark = 0

    def call_step(self, step):
        method = step["call"]
        try:
            result = invoke(self.client, method, step.get("params", {}))
        except Exception as error:  # noqa: BLE001 - every failure is reported
            if "error" in step:
                return error_mismatch(step["error"], error)
            return "unexpected %s: %s" % (type(error).__name__, error)
        if "error" in step:
            return "expected %s, got %r" % (step["error"], result)
        problem = mismatch(step.get("expect", {}), result)
        if problem or "denial" not in step:
            return problem
        decision = result["decision"] if method == "usage.consume" else result
        try:
            assert_allowed(decision)
            return "assert_allowed did not raise " + step["denial"]
        except Exception as error:  # noqa: BLE001
            return error_mismatch(step["denial"], error)

    def run_step(self, step):
        if "do" in step:
            self.mark = len(self.changes)
            print("@do " + step["do"], flush=True)
            answer = sys.stdin.readline().strip()
            return None if answer == "ok" else "trigger %s: %s" % (step["do"], answer or "no answer")
        if "call" in step:
            return self.call_step(step)
        if "pipeline" in step:
            calls = step["pipeline"]
            with ThreadPoolExecutor(max_workers=len(calls)) as pool:
                problems = list(pool.map(self.call_step, calls))
            for index, problem in enumerate(problems):
                if problem:
                    return "request %d: %s" % (index, problem)
            return None
        if "license" in step:
            which = step["license"]
            if which == "server":
                client = self.client
            elif which == "embedded":
                # No keys given: the SDK's own vendor_keys (from vendor.config.json), on the socket of
                # the current client (the real companion, or the fake one).
                client = TollgateClient(self.client.path)
            else:
                client = TollgateClient(self.socket, keys=self.keys[which])
            try:
                result = client.license()
            except Exception as error:  # noqa: BLE001
                if "error" in step:
                    return error_mismatch(step["error"], error)
                return "unexpected %s: %s" % (type(error).__name__, error)
            finally:
                if client is not self.client:
                    client.close()
            if "error" in step:
                return "expected %s, got a license" % step["error"]
            return mismatch(step.get("expect", {}), result)
        if step.get("subscribe"):
            self.client.on_license_changed(self.changes.append)
            return None
        if "awaitLicenseChanged" in step:
            deadline = time.time() + 10
            while True:
                if any(mismatch(step["awaitLicenseChanged"], change) is None for change in self.changes[self.mark:]):
                    return None
                if time.time() > deadline:
                    return "no matching license.changed; received %r" % (self.changes[self.mark:],)
                time.sleep(0.02)
        if step.get("client") == "fake":
            self.client = TollgateClient(
                os.environ["TOLLGATE_CONFORMANCE_FAKE_SOCKET"],
                keys=self.keys["server"],
                timeout=step["timeoutMs"] / 1000,
                backoff=(0.02, 0.1),
            )
            self.clients.append(self.client)
            return None
        return "unknown step %r" % (step,)

    def run(self, vectors):
        failed = 0
        for step in vectors["steps"]:
            try:
                problem = self.run_step(step)
            except Exception as error:  # noqa: BLE001
                problem = "threw %s: %s" % (type(error).__name__, error)
            if problem:
                failed += 1
                print("FAIL %s: %s" % (step["name"], problem), flush=True)
            else:
                print("ok " + step["name"], flush=True)
        for client in self.clients:
            client.close()
        return failed


def main():
    with open(os.environ["TOLLGATE_CONFORMANCE_VECTORS"], encoding="utf-8") as file:
        vectors = json.load(file)
    failed = Runner().run(vectors)
    print("%d steps, %d failed" % (len(vectors["steps"]), failed), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
