import {
  ClientClosedError,
  ClientOfflineError,
  ConnectionTimeoutError,
  ReconnectStrategyError,
  SocketClosedUnexpectedlyError,
  SocketTimeoutError,
} from 'redis';

// node-redis's errors leave `name` as plain 'Error', so they are recognised by class.
const REDIS_UNREACHABLE = [
  ClientClosedError,
  ClientOfflineError,
  ConnectionTimeoutError,
  ReconnectStrategyError,
  SocketClosedUnexpectedlyError,
  SocketTimeoutError,
];

/**
 * Whether an error means MySQL or Redis is unreachable (down, restarting, connection killed,
 * pool exhausted) rather than a bug: such errors are answered 503 "try again", not 500.
 */
export function isDependencyFailure(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  if (REDIS_UNREACHABLE.some((type) => error instanceof type)) return true;
  const e = error as { name?: string; code?: string; message?: string; driverError?: unknown };
  const names = [
    'ClientClosedError',
    'ClientOfflineError',
    'SocketClosedUnexpectedlyError',
    'ConnectionTimeoutError',
    'ReconnectStrategyError',
  ];
  if (e.name && names.includes(e.name)) return true;
  const codes = [
    'ECONNREFUSED',
    'ECONNRESET',
    'ETIMEDOUT',
    'EPIPE',
    'PROTOCOL_CONNECTION_LOST',
    'PROTOCOL_SEQUENCE_TIMEOUT',
    'ER_SERVER_SHUTDOWN',
    'ER_CON_COUNT_ERROR',
    'ER_QUERY_INTERRUPTED',
    'ER_CONNECTION_KILLED',
    'SQLITE_BUSY',
  ];
  if (e.code && codes.includes(e.code)) return true;
  if (
    /connection is in closed state|Pool is closed|Can't add new command when connection is in closed state|The client is (closed|offline)|Connection lost/i.test(
      e.message ?? '',
    )
  )
    return true;
  // Redis answering while it loads its data after a restart, or during a failover; NOREPLICAS: a
  // write not yet on a replica (min-replicas-to-write, or ReplicaAcks), so not acknowledged.
  if (/^(LOADING|MASTERDOWN|READONLY|TRYAGAIN|CLUSTERDOWN|NOREPLICAS)\b/.test(e.message ?? '')) return true;
  return e.driverError !== undefined && e.driverError !== error && isDependencyFailure(e.driverError);
}
