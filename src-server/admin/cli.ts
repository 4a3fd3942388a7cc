import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config.ts';
import { createDatabase } from '../db/connection.ts';
import { ApiError } from '../http/errors.ts';
import { createAdministrator } from './admins.ts';
import { recordAudit, TOKEN_AUDIT_ACTOR } from './audit.ts';

/**
 * `npm run admin -- create-user --email E --name N --role owner|support`: creates a named
 * administrator in the configured database (the first one, typically). The password comes from
 * TOLLGATE_ADMIN_PASSWORD, never the command line, where `ps` and shell history would keep it.
 */
async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { email: { type: 'string' }, name: { type: 'string' }, role: { type: 'string', default: 'owner' } },
  });
  const password = process.env.TOLLGATE_ADMIN_PASSWORD ?? '';
  if (positionals[0] !== 'create-user' || !values.email || !values.name) {
    console.error('usage: npm run admin -- create-user --email E --name N [--role owner|support]');
    return 2;
  }
  if (values.role !== 'owner' && values.role !== 'support') {
    console.error('--role must be owner or support');
    return 2;
  }
  if (password.length < 12) {
    console.error('Set TOLLGATE_ADMIN_PASSWORD to the new administrator’s password (12 characters or more).');
    return 2;
  }
  const database = await createDatabase(loadConfig());
  try {
    const now = Date.now();
    const created = await createAdministrator(
      database.db,
      { email: values.email, name: values.name, password, role: values.role },
      now,
    );
    await recordAudit(
      database.db,
      {
        administrator: TOKEN_AUDIT_ACTOR,
        accountId: null,
        action: 'admin_user.create',
        reason: 'command line',
        before: null,
        after: created,
      },
      now,
    );
    console.log(`created ${created.role} ${created.email} (${created.id})`);
    return 0;
  } finally {
    await database.destroy();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const message =
      error instanceof ConfigError || error instanceof ApiError ? error.message : (error as Error).message;
    console.error(`admin create-user failed: ${error instanceof ApiError ? (error.detail ?? message) : message}`);
    process.exitCode = 1;
  },
);
