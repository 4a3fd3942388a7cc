using System;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Tollgate
{
    /// <summary>
    /// A Unix domain socket address that serializes <c>sockaddr_un</c> itself: the family (AF_UNIX = 1,
    /// little-endian), then the path's UTF-8 bytes and a NUL. netstandard2.0 has no
    /// <c>UnixDomainSocketEndPoint</c> and Mono's class library lacks it; this works on both runtimes.
    /// </summary>
    public sealed class UnixSocketEndPoint : EndPoint
    {
        private const int MaxPathBytes = 107; // sun_path is 108 bytes on Linux, with the NUL

        public UnixSocketEndPoint(string path)
        {
            if (string.IsNullOrEmpty(path)) throw new ArgumentException("A socket path is required.", "path");
            if (Encoding.UTF8.GetByteCount(path) > MaxPathBytes) throw new ArgumentException("The socket path is too long: " + path, "path");
            Path = path;
        }

        public string Path { get; private set; }

        public override AddressFamily AddressFamily { get { return AddressFamily.Unix; } }

        public override SocketAddress Serialize()
        {
            var bytes = Encoding.UTF8.GetBytes(Path);
            // SocketAddress writes the family into bytes 0 and 1, little-endian.
            var address = new SocketAddress(AddressFamily.Unix, 2 + bytes.Length + 1);
            for (var i = 0; i < bytes.Length; i++) address[2 + i] = bytes[i];
            address[2 + bytes.Length] = 0;
            return address;
        }

        public override EndPoint Create(SocketAddress socketAddress)
        {
            var length = 0;
            while (2 + length < socketAddress.Size && socketAddress[2 + length] != 0) length++;
            if (length == 0) return new UnixSocketEndPoint("<unnamed>");
            var bytes = new byte[length];
            for (var i = 0; i < length; i++) bytes[i] = socketAddress[2 + i];
            return new UnixSocketEndPoint(Encoding.UTF8.GetString(bytes));
        }

        public override string ToString() { return Path; }
    }
}
