/** Results, not thrown strings, across boundaries (IPC, host socket, verification). */
export type Result<T, E = { code: string; message: string }> = { ok: true; value: T } | { ok: false; error: E };

export const ok = <T>(value: T): { ok: true; value: T } => ({ ok: true, value });
export const err = <E>(error: E): { ok: false; error: E } => ({ ok: false, error });
