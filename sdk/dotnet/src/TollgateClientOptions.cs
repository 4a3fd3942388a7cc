using System;

namespace Tollgate
{
    /// <summary>How a <see cref="TollgateClient"/> finds the companion, verifies licenses and retries.</summary>
    public sealed class TollgateClientOptions
    {
        /// <summary>The socket or pipe; default TOLLGATE_SOCKET, else the companion's default path for this user.</summary>
        public string Path { get; set; }
        /// <summary>The vendor's pinned license keys (JWKS JSON); default <see cref="VendorKeys.Jwks"/>.</summary>
        public string Keys { get; set; }
        /// <summary>How long one request may take, reconnects included. Default 10 s.</summary>
        public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);
        /// <summary>How many times a request is sent again after the connection dropped. Default 3.</summary>
        public int Retries { get; set; } = 3;
        /// <summary>Reconnect backoff: first delay and ceiling, doubled each attempt, with jitter.</summary>
        public TimeSpan BackoffInitial { get; set; } = TimeSpan.FromMilliseconds(50);
        public TimeSpan BackoffMax { get; set; } = TimeSpan.FromSeconds(2);
    }
}
