import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';

/**
 * One companion per user: the data folder is owned by one process at a time, so two writers never
 * share a journal. The lock is a file holding the owner's pid; a lock whose process is gone (crash,
 * SIGKILL) is stale and taken over.
 */
export class CompanionAlreadyRunning extends Error {
  override readonly name = 'CompanionAlreadyRunning';
  constructor(
    readonly pid: number,
    readonly home: string,
  ) {
    super(
      `Another Tollgate companion (pid ${pid}) already owns ${home}. ` +
        'Use that one (tollgate status), or stop it before starting a new one.',
    );
  }
}

export interface OwnerLock {
  release(): void;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else — still an owner.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function acquireOwnerLock(path: string, home: string): OwnerLock {
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return {
        release() {
          try {
            if (readFileSync(path, 'utf8') === String(process.pid)) unlinkSync(path);
          } catch {
            // Already gone: nothing to release.
          }
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number.parseInt(readFileSync(path, 'utf8'), 10);
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
      throw new CompanionAlreadyRunning(owner, home);
    }
    // Stale: remove it and race for it again with O_EXCL, so only one newcomer wins.
    try {
      unlinkSync(path);
    } catch {
      // Another newcomer removed it first.
    }
  }
  throw new Error(`Could not take the companion lock at ${path}; try again.`);
}
