import { existsSync } from 'node:fs';
import { connectDataSource } from '../db/connectDataSource';

/**
 * `npm run migrate` applies pending migrations to DATABASE_URL; `npm run migrate -- revert` undoes
 * the last one. Only DATABASE_URL is needed, so it runs before the rest of the service is configured.
 */
async function main(): Promise<number> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  const url = process.env.DATABASE_URL;
  if (!url || !/^mysql:\/\/\S+$/.test(url)) {
    process.stderr.write('DATABASE_URL must be set to mysql://user:password@host:port/database\n');
    return 2;
  }
  const command = process.argv[2] ?? 'run';
  if (command !== 'run' && command !== 'revert' && command !== 'show') {
    process.stderr.write('usage: npm run migrate [-- run|revert|show]\n');
    return 2;
  }
  const db = await connectDataSource(url);
  try {
    if (command === 'show') {
      const pending = await db.showMigrations();
      process.stdout.write(pending ? 'migrations are pending\n' : 'schema is up to date\n');
      return pending ? 1 : 0;
    }
    if (command === 'revert') {
      await db.undoLastMigration({ transaction: 'each' });
      process.stdout.write('reverted the last migration\n');
      return 0;
    }
    const applied = await db.runMigrations({ transaction: 'each' });
    process.stdout.write(
      applied.length === 0 ? 'schema is up to date\n' : applied.map((m) => `applied ${m.name}\n`).join(''),
    );
    return 0;
  } finally {
    await db.destroy();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`migration failed: ${(error as Error).message}\n`);
    process.exit(1);
  },
);
