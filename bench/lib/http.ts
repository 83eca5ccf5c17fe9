import { Agent, request as httpRequest } from 'node:http';

/** Keep-alive connections for the bench's own control and measurement calls (not the load). */
export const agent = new Agent({ keepAlive: true, maxSockets: 256 });

export interface HttpAnswer {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

export function call(
  method: string,
  url: string,
  options: { body?: string; headers?: Record<string, string>; timeoutMs?: number; agent?: Agent | false } = {},
): Promise<HttpAnswer> {
  return attempt(method, url, options, true);
}

function attempt(
  method: string,
  url: string,
  options: { body?: string; headers?: Record<string, string>; timeoutMs?: number; agent?: Agent | false },
  mayRetry: boolean,
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...(options.headers ?? {}) };
    if (options.body !== undefined) headers['content-length'] = Buffer.byteLength(options.body);
    const req = httpRequest(url, { method, headers, agent: options.agent ?? agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }),
      );
      res.on('error', reject);
    });
    req.setTimeout(options.timeoutMs ?? 60_000, () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.on('error', (error: NodeJS.ErrnoException) => {
      // A kept-alive socket the server closed while idle: the request never reached it; send it once more.
      if (mayRetry && req.reusedSocket && (error.code === 'ECONNRESET' || error.message === 'socket hang up')) {
        attempt(method, url, options, false).then(resolve, reject);
        return;
      }
      reject(error);
    });
    req.end(options.body);
  });
}

export async function callJson<T>(
  method: string,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<T> {
  const answer = await call(method, url, {
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
  });
  if (answer.status >= 300) throw new Error(`${method} ${url} → ${answer.status} ${answer.body.slice(0, 300)}`);
  return JSON.parse(answer.body) as T;
}
