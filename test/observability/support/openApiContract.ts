import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
// js-yaml comes with mocha (a dev dependency); the document stays YAML as the design asks.
import { load } from 'js-yaml';
import type Koa from 'koa';
import type { Response } from 'supertest';

export const PORTAL_YAML = path.resolve(__dirname, '../../../openapi/portal.yaml');
const BASE = 'https://etax-wechat.invalid/openapi/portal.yaml';
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

type Json = Record<string, unknown>;

export interface Operation {
  operationId: string;
  method: string;
  /** The OpenAPI path template, e.g. `/api/login/tickets/{ticketId}`. */
  path: string;
  statuses: string[];
}

/** A JSON pointer (as a URI fragment) to `parts` inside the document. */
function pointer(parts: string[]): string {
  return `#/${parts.map((part) => encodeURIComponent(part.replace(/~/g, '~0').replace(/\//g, '~1'))).join('/')}`;
}

/**
 * openapi/portal.yaml as a test oracle: `check(operationId, res)` asserts that a real answer is one
 * the document describes (status, required headers and their schemas, body schema, or no body), and
 * remembers which documented answers the tests produced.
 */
export class OpenApiContract {
  readonly document: Json;
  private readonly ajv: Ajv2020;
  private readonly byId = new Map<string, Operation>();
  private readonly exercised = new Set<string>();

  constructor(file = PORTAL_YAML) {
    this.document = load(readFileSync(file, 'utf8')) as Json;
    // The document's schemas are JSON Schema 2020-12 (OpenAPI 3.1). Its non-schema members are
    // declared as a vocabulary so that ajv, strict otherwise, resolves $refs into them.
    this.ajv = new Ajv2020({ allErrors: true, strict: true, strictTypes: false });
    addFormats(this.ajv);
    this.ajv.addVocabulary(['openapi', 'info', 'servers', 'tags', 'security', 'paths', 'components']);
    this.ajv.addSchema(this.document, BASE);
    const paths = this.document.paths as Record<string, Json>;
    for (const [template, item] of Object.entries(paths)) {
      for (const method of METHODS) {
        const op = item[method] as Json | undefined;
        if (!op) continue;
        const operationId = op.operationId as string;
        assert.ok(!this.byId.has(operationId), `operationId ${operationId} is used twice`);
        this.byId.set(operationId, {
          operationId,
          method,
          path: template,
          statuses: Object.keys(op.responses as Json),
        });
      }
    }
  }

  operations(): Operation[] {
    return [...this.byId.values()];
  }

  /** `operationId status` of every documented answer. */
  documentedAnswers(): string[] {
    return this.operations().flatMap((op) => op.statuses.map((status) => `${op.operationId} ${status}`));
  }

  exercisedAnswers(): Set<string> {
    return this.exercised;
  }

  /** The members named by a local `$ref` (`#/components/...`). */
  static refParts(ref: string): string[] {
    assert.ok(ref.startsWith('#/'), `only local $refs are used: ${ref}`);
    return ref
      .slice(2)
      .split('/')
      .map((raw) => decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~'));
  }

  /** The value at `parts` inside the document. */
  at(parts: string[]): unknown {
    let node: unknown = this.document;
    for (const part of parts) {
      assert.ok(
        typeof node === 'object' && node !== null && Object.hasOwn(node, part),
        `nothing at ${parts.join(' / ')}`,
      );
      node = (node as Json)[part];
    }
    return node;
  }

  /** The value at a local `$ref`. */
  resolve(ref: string): unknown {
    return this.at(OpenApiContract.refParts(ref));
  }

  /** Asserts that `res` is an answer the document gives for `operationId`, and records it. */
  check(operationId: string, res: Response): void {
    const op = this.byId.get(operationId);
    assert.ok(op, `no operation ${operationId} in the document`);
    const status = String(res.status);
    const what = `${op.method.toUpperCase()} ${op.path} answered ${status} ${res.text?.slice(0, 300) ?? ''}`;
    assert.ok(op.statuses.includes(status), `${what}: not a documented status (${op.statuses.join(', ')})`);

    let at = ['paths', op.path, op.method, 'responses', status];
    let response = this.at(at) as Json;
    if (typeof response.$ref === 'string') {
      at = OpenApiContract.refParts(response.$ref);
      response = this.at(at) as Json;
    }

    for (const [name, declared] of Object.entries((response.headers ?? {}) as Record<string, Json>)) {
      const headerAt =
        typeof declared.$ref === 'string' ? OpenApiContract.refParts(declared.$ref) : [...at, 'headers', name];
      const header = this.at(headerAt) as Json;
      const value = res.headers[name.toLowerCase()];
      if (header.required === true) assert.ok(value !== undefined, `${what}: header ${name} is required`);
      if (value !== undefined && header.schema)
        this.validate([...headerAt, 'schema'], value, `${what}: header ${name}`);
    }

    const content = response.content as Record<string, Json> | undefined;
    if (content) {
      const types = Object.keys(content);
      assert.deepEqual(types, ['application/json'], 'only JSON bodies are documented');
      assert.match(res.headers['content-type'] ?? '', /^application\/json\b/, `${what}: not JSON`);
      this.validate([...at, 'content', 'application/json', 'schema'], res.body, `${what}: body`);
    } else {
      assert.ok(res.text === '' || res.text === undefined, `${what}: no body is documented`);
    }
    this.exercised.add(`${operationId} ${status}`);
  }

  private validate(at: string[], value: unknown, what: string): void {
    const validate: ValidateFunction | undefined = this.ajv.getSchema(`${BASE}${pointer(at)}`);
    assert.ok(validate, `${what}: no schema at ${at.join('/')}`);
    assert.ok(
      validate(value),
      `${what} does not match the document: ${this.ajv.errorsText(validate.errors)}\n${JSON.stringify(value)}`,
    );
  }
}

interface RouterLayer {
  path: unknown;
  methods: string[];
}

/** `METHOD /path/{param}` of every route the app's routers serve under /api (HEAD, implied by GET, left out). */
export function apiRoutesOf(app: Koa): string[] {
  const routes = new Set<string>();
  for (const middleware of app.middleware as { router?: { stack: RouterLayer[] } }[]) {
    for (const layer of middleware.router?.stack ?? []) {
      if (typeof layer.path !== 'string' || !layer.path.startsWith('/api/')) continue;
      const template = layer.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      for (const method of layer.methods) if (method !== 'HEAD') routes.add(`${method} ${template}`);
    }
  }
  return [...routes].sort();
}
