using System;
using System.IO;

namespace Tollgate
{
    public static class SocketPath
    {
        /// <summary>
        /// Where the companion listens: TOLLGATE_SOCKET; on Windows the named pipe
        /// <c>\\.\pipe\tollgate-companion-&lt;username&gt;</c>; else <c>$XDG_RUNTIME_DIR/tollgate/companion.sock</c>,
        /// or <c>~/.tollgate/run/companion.sock</c> without XDG_RUNTIME_DIR (the companion's own rule).
        /// </summary>
        public static string Default()
        {
            var overridden = Environment.GetEnvironmentVariable("TOLLGATE_SOCKET");
            if (!string.IsNullOrEmpty(overridden)) return overridden;
            if (Environment.OSVersion.Platform == PlatformID.Win32NT) return @"\\.\pipe\tollgate-companion-" + Environment.UserName;
            var runtime = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR");
            if (!string.IsNullOrEmpty(runtime)) return Path.Combine(runtime, "tollgate", "companion.sock");
            var home = Environment.GetEnvironmentVariable("HOME");
            if (string.IsNullOrEmpty(home)) home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            return Path.Combine(home, ".tollgate", "run", "companion.sock");
        }
    }
}
