using System;
using System.Collections.Generic;
using System.Threading.Tasks;

namespace Tollgate
{
    /// <summary>
    /// A client of the Tollgate companion's host socket (JSON-RPC 2.0, one JSON object per line) on a
    /// Unix domain socket or a Windows named pipe. Thread-safe and pipelined: answers are matched by
    /// id. It connects on first use, reconnects with backoff when the companion restarts, and sends a
    /// request again after a dropped connection; UsageConsumeAsync with the same idempotency key, so it
    /// is never counted twice.
    /// </summary>
    public sealed partial class TollgateClient : IDisposable
    {
        private readonly TollgateClientOptions _options;
        private readonly object _lock = new object();
        private readonly Dictionary<long, Pending> _pending = new Dictionary<long, Pending>();
        private readonly List<Action<IDictionary<string, object>>> _listeners = new List<Action<IDictionary<string, object>>>();
        private readonly Random _random = new Random();
        private Connection _connection;
        private Task<Connection> _connecting;
        private long _nextId;
        private bool _disposed;

        public TollgateClient(TollgateClientOptions options = null)
        {
            _options = options ?? new TollgateClientOptions();
            Path = _options.Path ?? SocketPath.Default();
        }

        public string Path { get; private set; }

        // ── The host methods ────────────────────────────────────────────────────────────────────

        /// <summary>May the user use this feature? A denial is an answer (Allowed false, Code, Upgrade).</summary>
        public Task<Decision> GateCheckAsync(string feature)
        {
            return Request("gate.check", Params("feature", feature), Decision.From);
        }

        /// <summary>Would <paramref name="units"/> of <paramref name="operation"/> be allowed now? Records nothing.</summary>
        public Task<Decision> UsageCheckAsync(string operation, long units = 1)
        {
            return Request("usage.check", Params("operation", operation, "units", units), Decision.From);
        }

        /// <summary>
        /// Spends units when allowed. The idempotency key (generated unless given) is sent again
        /// unchanged on every retry, so nothing is counted twice.
        /// </summary>
        public Task<ConsumeOutcome> UsageConsumeAsync(string operation, long units = 1, string idempotencyKey = null)
        {
            var key = idempotencyKey ?? "tg-" + Guid.NewGuid().ToString("D");
            return Request("usage.consume", Params("operation", operation, "units", units, "idempotencyKey", key), ConsumeOutcome.From);
        }

        public Task<IDictionary<string, object>> UsageGetAsync()
        {
            return Request("usage.get", Params(), value => Wire.IsUsage(value) ? (IDictionary<string, object>)value : null);
        }

        /// <summary>
        /// The account's active devices, this computer marked (<see cref="Device.ThisDevice"/>).
        /// Read-only: the user releases devices in the companion's window.
        /// </summary>
        public Task<DeviceList> DevicesAsync()
        {
            return Request("devices.list", Params(), DeviceList.From);
        }

        /// <summary>
        /// The signed license, verified here against the pinned keys (Ed25519, see License.cs);
        /// throws the typed exception when it does not verify: LicenseInvalidException,
        /// OfflineGraceExpiredException, ClockTamperedException, or NotSignedInException.
        /// </summary>
        public async Task<LicenseResult> LicenseAsync(DateTimeOffset? now = null)
        {
            var answer = await Request("license.get", Params(), value => Wire.IsLicenseAnswer(value) ? value : null).ConfigureAwait(false);
            var token = Wire.Get(answer, "token") as string;
            var view = (IDictionary<string, object>)Wire.Get(answer, "license");
            if (token == null) throw new NotSignedInException("No license: the companion is not signed in.");
            var claims = License.Verify(token, _options.Keys ?? VendorKeys.Jwks, now ?? DateTimeOffset.UtcNow);
            return new LicenseResult(token, view, claims);
        }

        /// <summary>
        /// Calls <paramref name="listener"/> (on the client's reader) for every license.changed; resubscribes
        /// after a reconnect. Dispose the result to stop.
        /// </summary>
        public async Task<IDisposable> OnLicenseChangedAsync(Action<IDictionary<string, object>> listener)
        {
            bool first;
            lock (_lock)
            {
                first = _listeners.Count == 0;
                _listeners.Add(listener);
            }
            if (first)
            {
                try
                {
                    await Request("license.subscribe", Params(), value => Wire.Get(value, "subscribed") is bool ? value : null).ConfigureAwait(false);
                }
                catch
                {
                    lock (_lock) _listeners.Remove(listener);
                    throw;
                }
            }
            return new Unsubscribe(() => { lock (_lock) _listeners.Remove(listener); });
        }

        /// <summary>Any host method by name, unchecked (for methods newer than this client).</summary>
        public Task<object> CallAsync(string method, IDictionary<string, object> parameters = null)
        {
            return Request(method, parameters ?? Params(), value => value ?? new object());
        }

        public void Dispose()
        {
            List<Pending> pending;
            Connection connection;
            lock (_lock)
            {
                _disposed = true;
                pending = new List<Pending>(_pending.Values);
                _pending.Clear();
                connection = _connection;
                _connection = null;
            }
            foreach (var entry in pending) Settle(entry, new ConnectionFailedException("The client was closed."), null);
            if (connection != null) connection.Close();
        }

        private sealed class Unsubscribe : IDisposable
        {
            private readonly Action _action;
            public Unsubscribe(Action action) { _action = action; }
            public void Dispose() { _action(); }
        }
    }
}
