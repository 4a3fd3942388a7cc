using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Pipes;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace Tollgate
{
    /// <summary>
    /// The client's transport (TollgateClient.cs has its host methods): requests matched to answers
    /// by id, each with its timeout; one connection, opened with backoff, read by its own loop; and
    /// what a dropped connection does to the requests it carried.
    /// </summary>
    public sealed partial class TollgateClient
    {
        private sealed class Pending
        {
            public string Line;
            public Func<object, object> Convert;
            public TaskCompletionSource<object> Completion;
            public int Attempts;
            public Timer Timer;
        }

        private sealed class Connection
        {
            public Stream Stream;
            public Socket Socket;

            public void Close()
            {
                try { if (Socket != null) Socket.Shutdown(SocketShutdown.Both); } catch (Exception) { }
                try { Stream.Dispose(); } catch (Exception) { }
            }
        }

        // ── Requests ────────────────────────────────────────────────────────────────────────────

        private static Dictionary<string, object> Params(params object[] pairs)
        {
            var map = new Dictionary<string, object>();
            for (var i = 0; i < pairs.Length; i += 2) map[(string)pairs[i]] = pairs[i + 1];
            return map;
        }

        private async Task<T> Request<T>(string method, IDictionary<string, object> parameters, Func<object, T> convert) where T : class
        {
            long id;
            var entry = new Pending
            {
                Convert = value => convert(value),
                Completion = new TaskCompletionSource<object>(TaskCreationOptions.RunContinuationsAsynchronously),
            };
            lock (_lock)
            {
                if (_disposed) throw new ConnectionFailedException("The client was closed.");
                id = ++_nextId;
                _pending[id] = entry;
            }
            var request = new Dictionary<string, object> { { "jsonrpc", "2.0" }, { "id", id }, { "method", method }, { "params", parameters } };
            entry.Line = Json.Serialize(request) + "\n";
            // A plain one-shot Timer, not a CancellationTokenSource: when a host exits just as a timeout
            // fires, Mono aborts the pool thread, and a token's callback machinery wraps that abort in
            // an AggregateException that crashes the exiting process. A Timer's abort ends quietly.
            entry.Timer = new Timer(_ =>
            {
                bool removed;
                lock (_lock) removed = _pending.Remove(id);
                if (removed) Settle(entry, new TollgateTimeoutException(method + ": no answer within " + _options.Timeout.TotalMilliseconds + " ms."), null);
            }, null, _options.Timeout, System.Threading.Timeout.InfiniteTimeSpan);
            Forget(Transmit(id, entry));
            return (T)await entry.Completion.Task.ConfigureAwait(false);
        }

        /// <summary>Runs on its own; failures are already settled on the requests, so only observed here.</summary>
        private static void Forget(Task task)
        {
            task.ContinueWith(done => { var observed = done.Exception; }, TaskContinuationOptions.OnlyOnFaulted);
        }

        private static void Settle(Pending entry, Exception error, object value)
        {
            if (entry.Timer != null) entry.Timer.Dispose();
            if (error != null) entry.Completion.TrySetException(error);
            else entry.Completion.TrySetResult(value);
        }

        private async Task Transmit(long id, Pending entry)
        {
            while (true)
            {
                Connection connection;
                try
                {
                    connection = await Connect().ConfigureAwait(false);
                }
                catch (TollgateException error)
                {
                    bool removed;
                    lock (_lock) removed = _pending.Remove(id);
                    if (removed) Settle(entry, error, null);
                    return;
                }
                lock (_lock)
                {
                    Pending current;
                    if (!_pending.TryGetValue(id, out current) || current != entry) return;
                    if (_connection != connection) continue; // lost while connecting: connect again
                    try
                    {
                        // Written under the lock: a request is either on this connection before it is
                        // declared lost (and then sent again), or goes to the next one.
                        var bytes = Encoding.UTF8.GetBytes(entry.Line);
                        connection.Stream.Write(bytes, 0, bytes.Length);
                        connection.Stream.Flush();
                        return;
                    }
                    catch (Exception)
                    {
                        // Declared lost below, outside the lock.
                    }
                }
                Lost(connection);
                return;
            }
        }

        // ── The connection ──────────────────────────────────────────────────────────────────────

        private Task<Connection> Connect()
        {
            lock (_lock)
            {
                if (_connection != null) return Task.FromResult(_connection);
                if (_connecting == null || _connecting.IsCompleted) _connecting = ConnectWithBackoff();
                return _connecting;
            }
        }

        private async Task<Connection> ConnectWithBackoff()
        {
            Exception last = null;
            for (var attempt = 0; attempt <= _options.Retries; attempt++)
            {
                if (attempt > 0)
                {
                    var ceiling = Math.Min(_options.BackoffMax.TotalMilliseconds, _options.BackoffInitial.TotalMilliseconds * Math.Pow(2, attempt - 1));
                    double jitter;
                    lock (_random) jitter = _random.NextDouble();
                    await Task.Delay(TimeSpan.FromMilliseconds(ceiling / 2 + jitter * ceiling / 2)).ConfigureAwait(false);
                }
                lock (_lock) if (_disposed) break;
                Connection connection;
                try
                {
                    connection = Open();
                }
                catch (Exception error)
                {
                    last = error;
                    continue;
                }
                bool resubscribe;
                lock (_lock)
                {
                    _connection = connection;
                    resubscribe = _listeners.Count > 0;
                    if (resubscribe)
                    {
                        // A new connection has no subscription: ask again for the listeners registered.
                        var line = Json.Serialize(new Dictionary<string, object>
                        {
                            { "jsonrpc", "2.0" }, { "id", ++_nextId }, { "method", "license.subscribe" }, { "params", Params() },
                        }) + "\n";
                        try
                        {
                            var bytes = Encoding.UTF8.GetBytes(line);
                            connection.Stream.Write(bytes, 0, bytes.Length);
                        }
                        catch (Exception) { }
                    }
                }
                Forget(Task.Run(() => Read(connection)));
                return connection;
            }
            throw new ConnectionFailedException(
                "Cannot reach the Tollgate companion at " + Path + ": " + (last != null ? last.Message : "closed") + ". Is it running?");
        }

        private Connection Open()
        {
            const string pipePrefix = @"\\.\pipe\";
            if (Path.StartsWith(pipePrefix, StringComparison.OrdinalIgnoreCase))
            {
                var pipe = new NamedPipeClientStream(".", Path.Substring(pipePrefix.Length), PipeDirection.InOut, PipeOptions.Asynchronous);
                pipe.Connect(1000);
                return new Connection { Stream = pipe };
            }
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                socket.Connect(new UnixSocketEndPoint(Path));
            }
            catch
            {
                socket.Dispose();
                throw;
            }
            return new Connection { Socket = socket, Stream = new NetworkStream(socket, true) };
        }

        private async Task Read(Connection connection)
        {
            var buffer = new byte[65536];
            var line = new MemoryStream();
            while (true)
            {
                int count;
                try
                {
                    count = await connection.Stream.ReadAsync(buffer, 0, buffer.Length).ConfigureAwait(false);
                }
                catch (Exception)
                {
                    count = 0;
                }
                if (count == 0) break;
                var start = 0;
                for (var i = 0; i < count; i++)
                {
                    if (buffer[i] != (byte)'\n') continue;
                    line.Write(buffer, start, i - start);
                    start = i + 1;
                    var text = Encoding.UTF8.GetString(line.ToArray());
                    line.SetLength(0);
                    if (text.Trim().Length == 0) continue;
                    object message;
                    try
                    {
                        message = Json.Parse(text);
                    }
                    catch (FormatException)
                    {
                        Broken(connection, "The companion sent a line that is not JSON.");
                        return;
                    }
                    Handle(message);
                }
                line.Write(buffer, start, count - start);
            }
            Lost(connection);
        }

        /// <summary>An answer that cannot be attributed: fail what waits on this connection, start afresh.</summary>
        private void Broken(Connection connection, string reason)
        {
            List<Pending> pending;
            lock (_lock)
            {
                if (_connection == connection) _connection = null;
                pending = new List<Pending>(_pending.Values);
                _pending.Clear();
            }
            foreach (var entry in pending) Settle(entry, new ProtocolException(reason), null);
            connection.Close();
        }

        /// <summary>The connection dropped: send what is unanswered again on a new one, up to Retries times.</summary>
        private void Lost(Connection connection)
        {
            var retry = new List<KeyValuePair<long, Pending>>();
            var failed = new List<Pending>();
            lock (_lock)
            {
                if (_connection != connection) return;
                _connection = null;
                if (_disposed) return;
                foreach (var item in new List<KeyValuePair<long, Pending>>(_pending))
                {
                    item.Value.Attempts++;
                    if (item.Value.Attempts > _options.Retries)
                    {
                        _pending.Remove(item.Key);
                        failed.Add(item.Value);
                    }
                    else
                    {
                        retry.Add(item);
                    }
                }
            }
            connection.Close();
            foreach (var entry in failed) Settle(entry, new ConnectionFailedException("The companion closed the connection before answering."), null);
            foreach (var item in retry)
            {
                Forget(Transmit(item.Key, item.Value));
            }
        }

        private void Handle(object message)
        {
            var map = message as IDictionary<string, object>;
            if (map == null) return;
            if (Wire.Get(map, "method") as string == "license.changed")
            {
                var change = Wire.Get(map, "params") as IDictionary<string, object>;
                if (change == null || !Wire.IsLicenseChanged(change)) return;
                List<Action<IDictionary<string, object>>> listeners;
                lock (_lock) listeners = new List<Action<IDictionary<string, object>>>(_listeners);
                foreach (var listener in listeners) listener(change);
                return;
            }
            var rawId = Wire.Get(map, "id");
            if (!(rawId is long)) return;
            Pending entry;
            lock (_lock)
            {
                if (!_pending.TryGetValue((long)rawId, out entry)) return;
                _pending.Remove((long)rawId);
            }
            var error = Wire.Get(map, "error") as IDictionary<string, object>;
            if (error != null)
            {
                var code = Wire.Get(error, "code");
                var text = Wire.Get(error, "message") as string;
                if (!(code is long) || text == null)
                    Settle(entry, new ProtocolException("The companion sent an error without a code and message."), null);
                else
                    Settle(entry, TollgateException.FromRpc((int)(long)code, text, Wire.Get(error, "data")), null);
                return;
            }
            object converted = null;
            if (map.ContainsKey("result")) converted = entry.Convert(map["result"]);
            if (converted == null)
                Settle(entry, new ProtocolException("The companion answered with a result this client does not understand."), null);
            else
                Settle(entry, null, converted);
        }
    }
}
