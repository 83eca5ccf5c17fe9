import { readFileSync } from 'node:fs';
import Ajv, { type JSONSchemaType } from 'ajv';
import type { ClientMetadata } from 'oidc-provider' with { 'resolution-mode': 'import' };
import { OIDC_SCOPES } from './oidcClaims';

/** One public key of a client: a JWK (its other members go to oidc-provider as they are), no private part. */
export interface ClientPublicKey {
  kty: string;
}

/** One relying party as OIDC_CLIENTS_FILE lists it (docs/oidc.md). */
export interface OidcClientEntry {
  client_id: string;
  /** For `client_secret_basic` (the default) and `client_secret_post`; none with `private_key_jwt`. */
  client_secret?: string;
  /** `private_key_jwt`: the client signs an assertion with its own private key; `jwks` has its public keys. */
  token_endpoint_auth_method?: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';
  jwks?: { keys: ClientPublicKey[] };
  client_name?: string;
  redirect_uris: string[];
  post_logout_redirect_uris?: string[];
  /** Where OpenID Connect Back-Channel Logout posts a logout token when the account's sessions end. */
  backchannel_logout_uri?: string;
  /** The logout token then carries the session's `sid` too. */
  backchannel_logout_session_required?: boolean;
  /** The scopes this client may ask for, space-separated; default `openid`. `id_number` only here. */
  scope?: string;
  /** `pairwise`: a `sub` of its own per sector (redirect host); default `public`, the same for every client. */
  subject_type?: 'public' | 'pairwise';
  /** Refresh tokens only for a client configured for them. */
  refresh_tokens?: boolean;
}

const exactUrl = { type: 'string', pattern: '^https?://[^\\s#]+$', maxLength: 2000 } as const;

const clientsSchema: JSONSchemaType<{ clients: OidcClientEntry[] }> = {
  type: 'object',
  required: ['clients'],
  additionalProperties: false,
  properties: {
    clients: {
      type: 'array',
      items: {
        type: 'object',
        required: ['client_id', 'redirect_uris'],
        additionalProperties: false,
        properties: {
          client_id: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' },
          client_secret: { type: 'string', minLength: 32, nullable: true },
          token_endpoint_auth_method: {
            type: 'string',
            enum: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
            nullable: true,
          },
          jwks: {
            type: 'object',
            required: ['keys'],
            additionalProperties: false,
            nullable: true,
            properties: {
              keys: {
                type: 'array',
                minItems: 1,
                items: {
                  type: 'object',
                  required: ['kty'],
                  additionalProperties: true,
                  properties: { kty: { type: 'string', enum: ['RSA', 'EC', 'OKP'] } },
                },
              },
            },
          },
          client_name: { type: 'string', minLength: 1, maxLength: 64, nullable: true },
          redirect_uris: { type: 'array', minItems: 1, items: exactUrl },
          post_logout_redirect_uris: { type: 'array', items: exactUrl, nullable: true },
          backchannel_logout_uri: { ...exactUrl, nullable: true },
          backchannel_logout_session_required: { type: 'boolean', nullable: true },
          scope: { type: 'string', pattern: `^openid( (${OIDC_SCOPES.join('|')}))*$`, nullable: true },
          subject_type: { type: 'string', enum: ['public', 'pairwise'], nullable: true },
          refresh_tokens: { type: 'boolean', nullable: true },
        },
      },
    },
  },
};

const validateClients = new Ajv({ allErrors: true }).compile(clientsSchema);

/** Reads and validates OIDC_CLIENTS_FILE; throws naming every problem (never a secret's value). */
export function readOidcClients(file: string): OidcClientEntry[] {
  const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
  if (!validateClients(parsed)) {
    const problems = (validateClients.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
    throw new Error(`OIDC_CLIENTS_FILE is invalid:\n  - ${problems.join('\n  - ')}`);
  }
  const ids = parsed.clients.map((c) => c.client_id);
  if (new Set(ids).size !== ids.length) throw new Error('OIDC_CLIENTS_FILE lists a client_id twice');
  const mismatched = parsed.clients.flatMap((c) => {
    const problem = authenticationProblem(c);
    return problem ? [`${c.client_id}: ${problem}`] : [];
  });
  if (mismatched.length > 0) throw new Error(`OIDC_CLIENTS_FILE is invalid:\n  - ${mismatched.join('\n  - ')}`);
  return parsed.clients;
}

/** A client authenticates one way: a secret, or (`private_key_jwt`) its public keys and no secret. */
function authenticationProblem(client: OidcClientEntry): string | null {
  if (client.token_endpoint_auth_method === 'private_key_jwt') {
    if (!client.jwks) return "private_key_jwt needs the client's public keys (jwks)";
    // The private key stays with the client: one here is a leaked key.
    if (client.jwks.keys.some((key) => 'd' in key)) return 'jwks must hold public keys only (no "d")';
    if (client.client_secret !== undefined) return 'private_key_jwt takes no client_secret';
    return null;
  }
  if (client.client_secret === undefined) return 'client_secret is required (or private_key_jwt with jwks)';
  if (client.jwks) return 'jwks is for token_endpoint_auth_method private_key_jwt only';
  return null;
}

/** The client metadata oidc-provider takes for an entry. */
export function providerMetadata(entry: OidcClientEntry): ClientMetadata {
  const { refresh_tokens: refresh, scope, ...metadata } = entry;
  return {
    ...metadata,
    scope: scope ?? 'openid',
    grant_types: refresh ? ['authorization_code', 'refresh_token'] : ['authorization_code'],
    response_types: ['code'],
  };
}
