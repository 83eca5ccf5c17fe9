import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createApp, type AppOptions } from './app';
import type { Config } from './config/Config';
import { buildDependencies, closeDependencies, type Dependencies } from './dependencies';
import { createHttpServer, HTTP_SERVER_LIMITS } from './http/httpServer';

export interface RunHooks {
  /** After the dependencies are built, before the port opens (seeding, restoring state). */
  beforeListen?(deps: Dependencies): Promise<void> | void;
  afterListen?(deps: Dependencies): void;
  /** After the last request finished, before the pools close. */
  beforeClose?(deps: Dependencies): Promise<void> | void;
  appOptions?: AppOptions;
}

/**
 * Builds the dependencies and the app, listens, and on SIGTERM/SIGINT shuts down gracefully: stop
 * accepting, answer held long-polls at once, let in-flight requests finish, close the pools, exit 0.
 * A shutdown still running after SHUTDOWN_TIMEOUT_MS (a MySQL or Redis that hangs rather than
 * fails holds its requests) exits 1 anyway, so an orchestrator's restart is never blocked.
 */
export async function runService(config: Config, hooks: RunHooks = {}): Promise<Server> {
  const deps = await buildDependencies(config);
  await hooks.beforeListen?.(deps);
  const app = createApp(deps, hooks.appOptions);
  const server = createHttpServer(app.callback(), {
    ...HTTP_SERVER_LIMITS,
    maxConnections: config.httpMaxConnections,
  });
  if (config.host) server.listen(config.port, config.host);
  else server.listen(config.port);
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  deps.logger.info(
    { port: config.port, host: config.host ?? 'every interface', publicUrl: config.publicUrl, sandbox: config.sandbox },
    'listening',
  );
  hooks.afterListen?.(deps);

  let stopping = false;
  // Keep-alive connections would hold server.close() open until their idle timeout: once stopping,
  // every answer closes its connection, and a connection that has just gone idle is closed at once.
  server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
    if (stopping) res.setHeader('Connection', 'close');
    res.once('finish', () => {
      if (stopping) setImmediate(() => server.closeIdleConnections());
    });
  });
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    deps.logger.info({ signal }, 'shutting down');
    setTimeout(() => {
      deps.logger.error(
        { timeoutMs: config.shutdownTimeoutMs, openConnections: openConnections(server) },
        'shutdown deadline passed: exiting with work unfinished',
      );
      process.exit(1);
    }, config.shutdownTimeoutMs).unref();
    server.close(() => {
      void Promise.resolve(hooks.beforeClose?.(deps))
        .then(() => closeDependencies(deps))
        .then(
          () => process.exit(0),
          () => process.exit(1),
        );
    });
    deps.ticketChanges.releaseAll();
    server.closeIdleConnections();
  };
  const openConnections = (s: Server) => new Promise<number>((resolve) => s.getConnections((_e, n) => resolve(n)));
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  return server;
}
