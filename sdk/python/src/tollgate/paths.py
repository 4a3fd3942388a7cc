import getpass
import os
import sys


def default_socket_path(env=None, platform=None, home=None):
    """Where the companion listens: TOLLGATE_SOCKET; on Windows the named pipe
    ``\\\\.\\pipe\\tollgate-companion-<username>``; else ``$XDG_RUNTIME_DIR/tollgate/companion.sock``,
    or ``~/.tollgate/run/companion.sock`` without XDG_RUNTIME_DIR (the companion's own rule)."""
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    if env.get("TOLLGATE_SOCKET"):
        return env["TOLLGATE_SOCKET"]
    if platform == "win32":
        return "\\\\.\\pipe\\tollgate-companion-" + getpass.getuser()
    if env.get("XDG_RUNTIME_DIR"):
        return os.path.join(env["XDG_RUNTIME_DIR"], "tollgate", "companion.sock")
    home = os.path.expanduser("~") if home is None else home
    return os.path.join(home, ".tollgate", "run", "companion.sock")
