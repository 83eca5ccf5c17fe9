import { once } from 'node:events';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config/loadConfig';
import { buildDependencies, closeDependencies } from '../../src/dependencies';

/**
 * One instance of the service for the several-instances test: the dependencies and the app built
 * from the environment exactly as src/server.ts does, listening on PORT on 127.0.0.1 only. SIGTERM
 * answers held long-polls, closes the server and the pools, and exits 0.
 */
async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const deps = await buildDependencies(config);
  const app = createApp(deps);
  const server = app.listen(config.port, '127.0.0.1');
  await once(server, 'listening');
  process.once('SIGTERM', () => {
    server.close(() => {
      void closeDependencies(deps).then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
    deps.ticketChanges.releaseAll();
    server.closeIdleConnections();
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`instance failed to start: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
