using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Tollgate;

// The conformance vectors (sdk/conformance/vectors.json) run with the C# SDK. Started by
// test/integration/sdk/dotnet.test.ts (built with Mono's mcs) against a real companion and server;
// see sdk/conformance/README.md for the step kinds and the driver protocol. Exits 1 when a step fails.
public static class Conformance
{
    private static readonly object Absent = new object();

    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "--socket-path")
        {
            Console.WriteLine(SocketPath.Default());
            return 0;
        }
        if (args.Length > 0 && args[0] == "--verify") return VerifyCases(Json.Parse(Console.In.ReadToEnd()));
        // mcs 6.8 has no async Main. Environment.Exit, not a return: returning from Main makes Mono
        // abort the pool threads, and one still finishing a callback (a reader, a timer) can turn
        // that abort into an unhandled exception that fails a run whose every step passed.
        Environment.Exit(new Runner().Run().GetAwaiter().GetResult());
        return 0;
    }

    private sealed class Runner
    {
        private readonly Dictionary<string, string> _keys = new Dictionary<string, string>();
        private readonly string _socket = Environment.GetEnvironmentVariable("TOLLGATE_SOCKET");
        private readonly List<TollgateClient> _clients = new List<TollgateClient>();
        private readonly List<IDictionary<string, object>> _changes = new List<IDictionary<string, object>>();
        private TollgateClient _client;
        private int _mark;

        public Runner()
        {
            _keys["server"] = Environment.GetEnvironmentVariable("TOLLGATE_CONFORMANCE_JWKS");
            _keys["wrong"] = Environment.GetEnvironmentVariable("TOLLGATE_CONFORMANCE_WRONG_JWKS");
            _keys["none"] = "{\"keys\":[]}";
            // No Path: the client finds the socket itself (TOLLGATE_SOCKET, set by the driver).
            _client = new TollgateClient(new TollgateClientOptions
            {
                Keys = _keys["server"],
                Retries = 12,
                BackoffInitial = TimeSpan.FromMilliseconds(50),
                BackoffMax = TimeSpan.FromSeconds(1),
            });
            _clients.Add(_client);
        }

        public async Task<int> Run()
        {
            var vectors = Json.Parse(File.ReadAllText(Environment.GetEnvironmentVariable("TOLLGATE_CONFORMANCE_VECTORS")));
            var steps = (List<object>)Get(vectors, "steps");
            var failed = 0;
            foreach (IDictionary<string, object> step in steps)
            {
                string problem;
                try
                {
                    problem = await RunStep(step);
                }
                catch (Exception error)
                {
                    problem = "threw " + error.GetType().Name + ": " + error.Message;
                }
                if (problem != null)
                {
                    failed++;
                    Console.WriteLine("FAIL " + step["name"] + ": " + problem);
                }
                else
                {
                    Console.WriteLine("ok " + step["name"]);
                }
            }
            foreach (var client in _clients) client.Dispose();
            Console.WriteLine(steps.Count + " steps, " + failed + " failed");
            return failed == 0 ? 0 : 1;
        }

        private async Task<string> RunStep(IDictionary<string, object> step)
        {
            if (step.ContainsKey("do"))
            {
                lock (_changes) _mark = _changes.Count;
                Console.WriteLine("@do " + step["do"]);
                Console.Out.Flush();
                var answer = Console.ReadLine();
                return answer == "ok" ? null : "trigger " + step["do"] + ": " + (answer ?? "no answer");
            }
            if (step.ContainsKey("call")) return await CallStep(step);
            if (step.ContainsKey("pipeline"))
            {
                var calls = ((List<object>)step["pipeline"]).Cast<IDictionary<string, object>>().ToList();
                var tasks = calls.Select(CallStep).ToList();
                await Task.WhenAll(tasks);
                for (var i = 0; i < tasks.Count; i++)
                {
                    if (tasks[i].Result != null) return "request " + i + ": " + tasks[i].Result;
                }
                return null;
            }
            if (step.ContainsKey("license")) return await LicenseStep(step);
            if (step.ContainsKey("subscribe"))
            {
                await _client.OnLicenseChangedAsync(change => { lock (_changes) _changes.Add(change); });
                return null;
            }
            if (step.ContainsKey("awaitLicenseChanged"))
            {
                var deadline = DateTime.UtcNow.AddSeconds(10);
                while (true)
                {
                    List<IDictionary<string, object>> recent;
                    lock (_changes) recent = _changes.Skip(_mark).ToList();
                    if (recent.Any(change => Mismatch(step["awaitLicenseChanged"], change, "$") == null)) return null;
                    if (DateTime.UtcNow > deadline) return "no matching license.changed; received " + Json.Serialize(recent);
                    await Task.Delay(20);
                }
            }
            if (Get(step, "client") as string == "fake")
            {
                _client = new TollgateClient(new TollgateClientOptions
                {
                    Path = Environment.GetEnvironmentVariable("TOLLGATE_CONFORMANCE_FAKE_SOCKET"),
                    Keys = _keys["server"],
                    Timeout = TimeSpan.FromMilliseconds(Convert.ToDouble(step["timeoutMs"])),
                    BackoffInitial = TimeSpan.FromMilliseconds(20),
                    BackoffMax = TimeSpan.FromMilliseconds(100),
                });
                _clients.Add(_client);
                return null;
            }
            return "unknown step " + Json.Serialize(step);
        }

        private async Task<object> Invoke(string method, IDictionary<string, object> parameters)
        {
            switch (method)
            {
                case "gate.check":
                    return await _client.GateCheckAsync((string)parameters["feature"]);
                case "usage.check":
                    return await _client.UsageCheckAsync((string)parameters["operation"], Units(parameters));
                case "usage.consume":
                    return await _client.UsageConsumeAsync((string)parameters["operation"], Units(parameters), Get(parameters, "idempotencyKey") as string);
                case "usage.get":
                    return await _client.UsageGetAsync();
                case "devices.list":
                    return await _client.DevicesAsync();
                default:
                    return await _client.CallAsync(method, parameters);
            }
        }

        private static long Units(IDictionary<string, object> parameters)
        {
            return parameters.ContainsKey("units") ? (long)parameters["units"] : 1;
        }

        private async Task<string> CallStep(IDictionary<string, object> step)
        {
            var method = (string)step["call"];
            object typed;
            try
            {
                typed = await Invoke(method, (IDictionary<string, object>)(Get(step, "params") ?? new Dictionary<string, object>()));
            }
            catch (Exception error)
            {
                if (step.ContainsKey("error")) return ErrorMismatch((string)step["error"], error);
                return "unexpected " + error.GetType().Name + ": " + error.Message;
            }
            var result = Raw(typed);
            if (step.ContainsKey("error")) return "expected " + step["error"] + ", got " + Json.Serialize(result);
            var problem = Mismatch(Get(step, "expect") ?? new Dictionary<string, object>(), result, "$");
            if (problem != null || !step.ContainsKey("denial")) return problem;
            var decision = typed as Decision ?? ((ConsumeOutcome)typed).Decision;
            try
            {
                decision.AssertAllowed();
                return "AssertAllowed did not raise " + step["denial"];
            }
            catch (Exception error)
            {
                return ErrorMismatch((string)step["denial"], error);
            }
        }

        private async Task<string> LicenseStep(IDictionary<string, object> step)
        {
            var which = (string)step["license"];
            // "embedded": no Keys given, so the SDK's own VendorKeys (from vendor.config.json), on the
            // socket of the current client (the real companion, or the fake one).
            var client = which == "server"
                ? _client
                : which == "embedded"
                    ? new TollgateClient(new TollgateClientOptions { Path = _client.Path })
                    : new TollgateClient(new TollgateClientOptions { Path = _socket, Keys = _keys[which] });
            try
            {
                var license = await client.LicenseAsync();
                if (step.ContainsKey("error")) return "expected " + step["error"] + ", got a license";
                var actual = new Dictionary<string, object> { { "license", license.License }, { "claims", license.Claims } };
                return Mismatch(Get(step, "expect") ?? new Dictionary<string, object>(), actual, "$");
            }
            catch (Exception error)
            {
                if (step.ContainsKey("error")) return ErrorMismatch((string)step["error"], error);
                return "unexpected " + error.GetType().Name + ": " + error.Message;
            }
            finally
            {
                if (client != _client) client.Dispose();
            }
        }
    }

    /// <summary>
    /// Signature and token cases the driver writes on stdin (dotnet.test.ts): RFC 8032 vectors for
    /// Ed25519 alone, then license tokens, genuine and hostile, each with the keys to pin, the time,
    /// and the error code LicenseAsync must raise (none: the token verifies).
    /// </summary>
    private static int VerifyCases(object cases)
    {
        var failed = 0;
        var count = 0;
        foreach (IDictionary<string, object> vector in (List<object>)Get(cases, "ed25519"))
        {
            count++;
            var verified = Ed25519.Verify(Hex(vector["publicKey"]), Hex(vector["message"]), Hex(vector["signature"]));
            if (verified == (bool)vector["valid"]) continue;
            failed++;
            Console.WriteLine("FAIL " + vector["name"] + ": Ed25519.Verify said " + verified);
        }
        foreach (IDictionary<string, object> license in (List<object>)Get(cases, "licenses"))
        {
            count++;
            var expected = Get(license, "error") as string;
            string problem;
            try
            {
                License.Verify((string)license["token"], Json.Serialize(license["keys"]), DateTimeOffset.FromUnixTimeSeconds((long)license["now"]));
                problem = expected == null ? null : "expected " + expected + ", but the token verified";
            }
            catch (Exception error)
            {
                problem = expected == null ? "unexpected " + error.GetType().Name + ": " + error.Message : ErrorMismatch(expected, error);
            }
            if (problem == null) continue;
            failed++;
            Console.WriteLine("FAIL " + license["name"] + ": " + problem);
        }
        Console.WriteLine(count + " checks, " + failed + " failed");
        return failed == 0 ? 0 : 1;
    }

    private static byte[] Hex(object text)
    {
        var hex = (string)text;
        var bytes = new byte[hex.Length / 2];
        for (var i = 0; i < bytes.Length; i++) bytes[i] = Convert.ToByte(hex.Substring(2 * i, 2), 16);
        return bytes;
    }

    /// <summary>The answer as received, for matching against the vector.</summary>
    private static object Raw(object typed)
    {
        var decision = typed as Decision;
        if (decision != null) return decision.Raw;
        var outcome = typed as ConsumeOutcome;
        if (outcome != null) return outcome.Raw;
        var devices = typed as DeviceList;
        if (devices == null) return typed;
        // Matched as typed: what DevicesAsync read, not only the answer it was read from.
        var list = new List<object>();
        foreach (var device in devices.Devices)
        {
            list.Add(new Dictionary<string, object>
            {
                { "deviceId", device.DeviceId }, { "name", device.Name }, { "os", device.Os }, { "appVersion", device.AppVersion },
                { "activatedAt", device.ActivatedAt }, { "lastSeenAt", device.LastSeenAt }, { "thisDevice", device.ThisDevice },
            });
        }
        return new Dictionary<string, object> { { "devices", list }, { "maxDevices", devices.MaxDevices } };
    }

    private static object Get(object map, string key)
    {
        var dictionary = map as IDictionary<string, object>;
        object value;
        return dictionary != null && dictionary.TryGetValue(key, out value) ? value : null;
    }

    private static string ErrorMismatch(string expected, Exception error)
    {
        var type = TollgateException.TypeFor(expected);
        if (type == null) return "no exception class for " + expected;
        var typed = error as TollgateException;
        if (!type.IsInstanceOfType(error) || typed == null || typed.Code != expected)
            return "expected " + type.Name + " (" + expected + "), got " + error.GetType().Name + ": " + error.Message;
        return null;
    }

    private static string Mismatch(object expected, object actual, string at)
    {
        var text = expected as string;
        if (text == "$string") return actual is string ? null : at + ": expected a string, got " + Show(actual);
        if (text == "$absent") return actual == Absent ? null : at + ": expected absent, got " + Show(actual);
        var list = expected as List<object>;
        if (list != null)
        {
            var actualList = actual as List<object>;
            if (actualList == null || actualList.Count != list.Count) return at + ": expected " + list.Count + " items, got " + Show(actual);
            for (var i = 0; i < list.Count; i++)
            {
                var problem = Mismatch(list[i], actualList[i], at + "[" + i + "]");
                if (problem != null) return problem;
            }
            return null;
        }
        var map = expected as IDictionary<string, object>;
        if (map != null)
        {
            var actualMap = actual as IDictionary<string, object>;
            if (actualMap == null) return at + ": expected an object, got " + Show(actual);
            foreach (var entry in map)
            {
                object value;
                if (!actualMap.TryGetValue(entry.Key, out value)) value = Absent;
                var problem = Mismatch(entry.Value, value, at + "." + entry.Key);
                if (problem != null) return problem;
            }
            return null;
        }
        if (actual == Absent) return at + ": expected " + Json.Serialize(expected) + ", got nothing";
        return Json.Serialize(expected) == Json.Serialize(actual) ? null : at + ": expected " + Json.Serialize(expected) + ", got " + Show(actual);
    }

    private static string Show(object value)
    {
        return value == Absent ? "nothing" : Json.Serialize(value);
    }
}
