import type { ErrorCode } from './error-codes.ts';

/**
 * Results, not thrown strings, across boundaries (IPC, host socket, the --web bridge, the billing
 * client, verification). A failure names a stable code from src-shared/error-codes.ts and says in
 * plain words what to do.
 */
export interface Failure<C extends string = ErrorCode> {
  code: C;
  message: string;
}

export type Result<T, E = Failure> = { ok: true; value: T } | { ok: false; error: E };

/** A value now or later: what a handler that may need no I/O returns. */
export type MaybePromise<T> = T | Promise<T>;

export const ok = <T>(value: T): { ok: true; value: T } => ({ ok: true, value });
export const err = <E>(error: E): { ok: false; error: E } => ({ ok: false, error });
