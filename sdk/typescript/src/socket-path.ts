import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';

/**
 * Where the companion listens: TOLLGATE_SOCKET; on Windows the named pipe
 * `\\.\pipe\tollgate-companion-<username>`; else `$XDG_RUNTIME_DIR/tollgate/companion.sock`, or
 * `~/.tollgate/run/companion.sock` without XDG_RUNTIME_DIR (the companion's own rule).
 */
export function defaultSocketPath(
  env: Record<string, string | undefined> = process.env,
  platform: string = process.platform,
  home: string = homedir(),
): string {
  if (env.TOLLGATE_SOCKET) return env.TOLLGATE_SOCKET;
  if (platform === 'win32') return `\\\\.\\pipe\\tollgate-companion-${userInfo().username}`;
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'tollgate', 'companion.sock');
  return join(home, '.tollgate', 'run', 'companion.sock');
}
