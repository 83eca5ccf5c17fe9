import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** The HTTP server's own limits: what a connection may cost before the app sees a request. */
export interface HttpServerLimits {
  /** A request's headers must arrive within this (slowloris): 408 and closed otherwise. */
  headersTimeoutMs: number;
  /** The whole request (headers and body, at most 16 KiB here) must arrive within this. */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** Connections held open at once; a further one is closed as soon as it is accepted. */
  maxConnections: number;
  /** How often the timeouts above are checked (Node checks them on a timer, not per socket). */
  checkIntervalMs: number;
}

/**
 * Production values. requestTimeout bounds receiving the request only, so a held long-poll (up to
 * 30 s of waiting for the answer) is not cut by it. keepAliveTimeout stays Node's 5 s: a load
 * balancer keeping upstream connections must idle-close them sooner than that.
 */
export const HTTP_SERVER_LIMITS: Omit<HttpServerLimits, 'maxConnections'> = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 15_000,
  keepAliveTimeoutMs: 5_000,
  checkIntervalMs: 1_000,
};

/** A node:http server for the app with the limits set (the defaults are a minute and more for each). */
export function createHttpServer(
  listener: (req: IncomingMessage, res: ServerResponse) => unknown,
  limits: HttpServerLimits,
): Server {
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: limits.checkIntervalMs,
    },
    (req, res) => void listener(req, res),
  );
  server.maxConnections = limits.maxConnections;
  return server;
}
