import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import { createApp } from './app';
import { ConfigError, loadConfig } from './config/loadConfig';
import { buildDependencies, closeDependencies } from './dependencies';

/** Starts the service from the environment (and .env when present); stops gracefully on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const deps = await buildDependencies(config);
  const app = createApp(deps);
  const server: Server = app.listen(config.port, () => {
    deps.logger.info({ port: config.port, publicUrl: config.publicUrl, sandbox: config.sandbox }, 'listening');
  });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    deps.logger.info({ signal }, 'shutting down');
    server.close(() => {
      void closeDependencies(deps).then(() => process.exit(0));
    });
    server.closeIdleConnections();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`failed to start: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
