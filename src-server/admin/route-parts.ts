import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Database } from '../db/schema.ts';
import { ApiError } from '../http/errors.ts';

/** What the admin route files share: their OpenAPI tag, parameter schemas and the account lookup. */

export const ADMIN_TAGS = ['admin'];
/** Why an administrator acts: recorded in the audit entry. */
export const Reason = z.string().trim().min(3).max(500);
export const AccountParams = z.object({ accountId: z.string().min(1).max(200) });

/** The account an admin route names, or 404. */
export async function accountOfAdmin(db: Kysely<Database>, accountId: string) {
  const account = await db
    .selectFrom('accounts')
    .select(['id', 'email', 'created_at'])
    .where('id', '=', accountId)
    .executeTakeFirst();
  if (!account) throw new ApiError('NOT_FOUND', `No account ${accountId}.`);
  return account;
}
