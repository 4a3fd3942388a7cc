import { createHash, randomBytes } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { decoyHash, hashPassword, verifyPassword } from '../accounts/passwords.ts';
import { newId } from '../db/ids.ts';
import type { Database } from '../db/schema.ts';
import { ApiError } from '../http/errors.ts';
import type { AdminRole } from './tables.ts';

/**
 * Named administrators (a password hashed as accounts' are, a role) and their bearer sessions.
 * `owner` may act on customers; `support` may only read. TOLLGATE_ADMIN_TOKEN stays for automation
 * and acts as an owner named "admin token".
 */

export interface Administrator {
  id: string;
  name: string;
  role: AdminRole;
}

export const TOKEN_ADMINISTRATOR: Administrator = { id: 'token', name: 'admin token', role: 'owner' };

const SESSION_MS = 12 * 60 * 60 * 1000;

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by requireAdmin: who is calling an admin route. */
    administrator: Administrator | null;
  }
}

const tokenHash = (token: string) => createHash('sha256').update(token).digest('hex');

export async function createAdministrator(
  db: Kysely<Database>,
  input: { email: string; name: string; password: string; role: AdminRole },
  now: number,
): Promise<Administrator & { email: string }> {
  const id = newId('adm');
  const email = input.email.trim().toLowerCase();
  const taken = await db.selectFrom('admin_users').select('id').where('email', '=', email).executeTakeFirst();
  if (taken) throw new ApiError('EMAIL_TAKEN', `An administrator ${email} exists.`);
  await db
    .insertInto('admin_users')
    .values({
      id,
      email,
      name: input.name,
      password_hash: await hashPassword(input.password),
      role: input.role,
      created_at: now,
    })
    .execute();
  return { id, email, name: input.name, role: input.role };
}

export async function signInAdministrator(
  db: Kysely<Database>,
  email: string,
  password: string,
  now: number,
): Promise<{ token: string; expiresAt: number; administrator: Administrator }> {
  const row = await db
    .selectFrom('admin_users')
    .selectAll()
    .where('email', '=', email.trim().toLowerCase())
    .executeTakeFirst();
  const valid = await verifyPassword(password, row?.password_hash ?? (await decoyHash()));
  if (!row || !valid) throw new ApiError('INVALID_CREDENTIALS');
  const token = randomBytes(32).toString('base64url');
  const expiresAt = now + SESSION_MS;
  await db
    .insertInto('admin_sessions')
    .values({ token_hash: tokenHash(token), admin_id: row.id, expires_at: expiresAt, created_at: now })
    .execute();
  return { token, expiresAt, administrator: { id: row.id, name: row.name, role: row.role } };
}

export async function administratorForToken(
  db: Kysely<Database>,
  token: string,
  now: number,
): Promise<Administrator | null> {
  const row = await db
    .selectFrom('admin_sessions')
    .innerJoin('admin_users', 'admin_users.id', 'admin_sessions.admin_id')
    .select(['admin_users.id', 'admin_users.name', 'admin_users.role', 'admin_sessions.expires_at'])
    .where('admin_sessions.token_hash', '=', tokenHash(token))
    .executeTakeFirst();
  if (!row || Number(row.expires_at) <= now) return null;
  return { id: row.id, name: row.name, role: row.role };
}

/** The administrator of an admin route; refuses `support` when the route acts. */
export function actingAdministrator(request: FastifyRequest): Administrator {
  const administrator = request.administrator ?? TOKEN_ADMINISTRATOR;
  if (administrator.role !== 'owner') throw new ApiError('ADMIN_READ_ONLY');
  return administrator;
}
