import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { administratorForToken, TOKEN_ADMINISTRATOR } from '../admin/admins.ts';
import { knowHolder } from '../http/context.ts';
import { ApiError } from '../http/errors.ts';
import { accountForAccessToken } from './sessions.ts';

/**
 * Who is calling: `authenticate` (a user's access token; sets request.account) and `requireAdmin`
 * (TOLLGATE_ADMIN_TOKEN). Routes do not use them directly: they declare `config: { access }` and
 * src-server/http/access.ts installs these as onRequest hooks, before rate limiting and body parsing.
 */

function bearerToken(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? null;
}

export async function authenticate(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
  const token = bearerToken(request);
  if (!token) throw new ApiError('UNAUTHENTICATED', 'Send Authorization: Bearer <access token>.');
  const { db, now } = request.server.tollgate;
  const found = await accountForAccessToken(db, token, now());
  if (!found) {
    throw new ApiError('UNAUTHENTICATED', 'The access token is unknown, expired or revoked; refresh it or sign in.');
  }
  request.account = found.account;
  knowHolder(request, found);
}

function sameSecret(given: string, expected: string): boolean {
  // Hash both so the comparison is constant-time whatever the lengths.
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * 401 without a token; 403 with any token that is neither TOLLGATE_ADMIN_TOKEN nor a named
 * administrator's session (a user's included). Sets request.administrator.
 */
export async function requireAdmin(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
  const token = bearerToken(request);
  if (!token) throw new ApiError('UNAUTHENTICATED', 'Send Authorization: Bearer <admin token>.');
  const { config, db, now } = request.server.tollgate;
  if (config.adminToken !== null && sameSecret(token, config.adminToken)) {
    request.administrator = TOKEN_ADMINISTRATOR;
    return;
  }
  const administrator = await administratorForToken(db, token, now());
  if (administrator) {
    request.administrator = administrator;
    return;
  }
  if (config.adminToken === null) {
    throw new ApiError('ADMIN_ONLY', 'Sign in as an administrator, or set TOLLGATE_ADMIN_TOKEN for automation.');
  }
  throw new ApiError('ADMIN_ONLY');
}
