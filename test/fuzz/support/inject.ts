import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import type Koa from 'koa';

export interface InjectRequest {
  method: string;
  /** Path and query, as on the request line. */
  url: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** The client's address (ctx.ip without TRUST_PROXY); default 127.0.0.1. */
  remoteAddress?: string;
}

export interface InjectResponse {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  text: string;
}

/**
 * Runs one request through the app's request handler in this process, without a socket: a
 * hand-built IncomingMessage in, a ServerResponse with no connection out (Node keeps its output in
 * memory). About ten times cheaper than an HTTP round trip, which is what makes 10,000 fuzz cases
 * per surface affordable; test/fuzz/inject.test.ts checks it answers as supertest does.
 */
export function injector(app: Koa): (request: InjectRequest) => Promise<InjectResponse> {
  const handle = app.callback();
  return async (request) => {
    const socket = new Socket();
    Object.defineProperty(socket, 'remoteAddress', { value: request.remoteAddress ?? '127.0.0.1' });
    const req = new IncomingMessage(socket);
    req.method = request.method;
    req.url = request.url;
    req.httpVersionMajor = 1;
    req.httpVersionMinor = 1;
    req.httpVersion = '1.1';
    const body =
      request.body === undefined
        ? undefined
        : Buffer.isBuffer(request.body)
          ? request.body
          : Buffer.from(request.body, 'utf8');
    const headers: Record<string, string> = { host: '127.0.0.1', ...lowerCased(request.headers ?? {}) };
    if (body !== undefined && headers['content-length'] === undefined) headers['content-length'] = String(body.length);
    req.headers = headers;
    req.rawHeaders = Object.entries(headers).flat();
    if (body !== undefined && body.length > 0) req.push(body);
    req.push(null);
    const res = new ServerResponse(req);
    const chunks: Buffer[] = [];
    const capture = (chunk: unknown, encoding?: unknown) => {
      if (chunk === undefined || chunk === null || typeof chunk === 'function') return;
      chunks.push(
        Buffer.isBuffer(chunk)
          ? chunk
          : Buffer.from(chunk as string, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8'),
      );
    };
    const ended = new Promise<void>((resolve) => {
      res.write = ((chunk: unknown, encoding?: unknown) => {
        capture(chunk, encoding);
        return true;
      }) as typeof res.write;
      res.end = ((chunk?: unknown, encoding?: unknown) => {
        if (!res.headersSent) res.writeHead(res.statusCode);
        capture(chunk, encoding);
        (res as { finished: boolean }).finished = true;
        resolve();
        return res;
      }) as typeof res.end;
    });
    await Promise.all([handle(req, res), ended]);
    socket.destroy();
    return {
      status: res.statusCode,
      headers: res.getHeaders(),
      text: Buffer.concat(chunks).toString('utf8'),
    };
  };
}

function lowerCased(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}
