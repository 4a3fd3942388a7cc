import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { createTestDatabase } from '../../support/databases.ts';
import { request, startTestServer } from '../../support/server.ts';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..', '..');

// The first administrator of a fresh install comes from the command line; it can then sign in.
it('npm run admin -- create-user makes an administrator who can sign in to the admin API', async () => {
  const database = await createTestDatabase('sqlite');
  try {
    const env = { PATH: process.env.PATH ?? '', ...database.env, TOLLGATE_ADMIN_PASSWORD: 'first owner password' };
    const cli = [
      '--import',
      'tsx',
      join(ROOT, 'src-server', 'admin', 'cli.ts'),
      'create-user',
      '--email',
      'Owner@Vendor.test',
      '--name',
      'Olivia Owner',
    ];
    const created = await run(process.execPath, cli, { cwd: ROOT, env });
    expect(created.stdout).toContain('created owner owner@vendor.test');
    const again = await run(process.execPath, cli, { cwd: ROOT, env }).catch((error: { stderr: string }) => error);
    expect((again as { stderr: string }).stderr).toContain('exists');

    const server = await startTestServer({ database });
    try {
      const session = await request(server.url, 'POST', '/v1/admin/sessions', {
        email: 'owner@vendor.test',
        password: 'first owner password',
      });
      expect(session.status).toBe(200);
      expect(session.body.administrator).toMatchObject({ name: 'Olivia Owner', role: 'owner' });
      const customers = await request(server.url, 'GET', '/v1/admin/customers', undefined, {
        token: session.body.token,
      });
      expect(customers.status).toBe(200);
    } finally {
      await server.stop();
    }
  } finally {
    await database.cleanup();
  }
});
