import type { UpgradeSuggestion } from '../../src-shared/api.ts';
import { PROBLEM_CODES, type ProblemCode } from '../../src-shared/error-codes.ts';

interface ProblemExtras {
  upgrade?: UpgradeSuggestion;
  limit?: number;
  remaining?: number;
  [member: string]: unknown;
}

export interface ProblemBody extends ProblemExtras {
  type: string;
  title: string;
  status: number;
  detail?: string;
  code: string;
}

/** Thrown by handlers and hooks; the error handler renders it as problem+json. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly statusCode: number;
  constructor(
    readonly code: ProblemCode,
    readonly detail?: string,
    readonly extras: ProblemExtras = {},
  ) {
    super(detail ?? PROBLEM_CODES[code].title);
    this.statusCode = PROBLEM_CODES[code].status;
  }
}

export function problemBody(code: ProblemCode, detail?: string, extras: ProblemExtras = {}): ProblemBody {
  const { status, title } = PROBLEM_CODES[code];
  // A relative reference: resolved against the API's base URL it names the code's entry on /docs.
  return { type: `/docs#${code}`, title, status, ...(detail ? { detail } : {}), code, ...extras };
}
