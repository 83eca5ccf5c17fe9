import Ajv, { type JSONSchemaType } from 'ajv';
import { PORTAL_SCOPES, UNNAMED_PORTAL, type PortalKey, type PortalScope } from '../security/PortalKey';

interface PortalKeyEntry {
  name: string;
  scopes: PortalScope[];
  displayName: string;
  secret: string;
}

const entrySchema: JSONSchemaType<PortalKeyEntry> = {
  type: 'object',
  properties: {
    name: { type: 'string', pattern: '^[a-z][a-z0-9-]{0,31}$' },
    scopes: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', enum: [...PORTAL_SCOPES] } },
    // At most 20 characters: the ticket stores it, and each field of its Redis hash stays within 64 bytes.
    displayName: { type: 'string', pattern: '^[^\\s:,]{1,20}$' },
    secret: { type: 'string', pattern: '^[!-+--~]{32,}$' },
  },
  required: ['name', 'scopes', 'displayName', 'secret'],
  additionalProperties: false,
};

const validateEntry = new Ajv({ allErrors: true }).compile(entrySchema);

/** What each part must look like; ajv's own words would not say it, and must never quote a secret. */
const PART_RULES: Record<keyof PortalKeyEntry, string> = {
  name: 'its name must be 1-32 of a-z 0-9 - starting with a letter',
  scopes: `its scopes must be one or more of ${PORTAL_SCOPES.join(', ')} joined by +, each once`,
  displayName: 'its display name must be 1-20 characters without spaces, colons or commas',
  secret: 'its key must be at least 32 printable ASCII characters without spaces or commas',
};

/**
 * Reads PORTAL_API_KEYS: comma-separated entries, each either `name:scope+scope:display name:key`
 * or a bare key (the earlier format: the portal `portal`, 网上税务局, with every scope). An entry
 * with a colon is always read as named, so a mistyped named entry is refused instead of being taken
 * for a bare key with every scope. Problems name the entry by position (and name), never its key.
 */
export function parsePortalKeys(value: string): { keys: PortalKey[]; problems: string[] } {
  const keys: PortalKey[] = [];
  const problems: string[] = [];
  const entries = value
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  entries.forEach((entry, index) => {
    const label = `PORTAL_API_KEYS entry ${index + 1}`;
    if (!entry.includes(':')) {
      if (/^[!-+--~]{32,}$/.test(entry))
        keys.push({ ...UNNAMED_PORTAL, scopes: new Set(PORTAL_SCOPES), secret: entry });
      else problems.push(`${label}: ${PART_RULES.secret}`);
      return;
    }
    const parts = entry.split(':');
    if (parts.length < 4) {
      problems.push(`${label} must be name:scope+scope:display name:key (or a bare key without colons)`);
      return;
    }
    const [name, scopes, displayName] = parts as [string, string, string];
    const candidate = { name, scopes: scopes.split('+'), displayName, secret: parts.slice(3).join(':') };
    if (!validateEntry(candidate)) {
      const named = /^[a-z][a-z0-9-]{0,31}$/.test(name) ? ` (${name})` : '';
      const wrong = new Set(
        (validateEntry.errors ?? []).map((e) => e.instancePath.split('/')[1] as keyof PortalKeyEntry),
      );
      for (const part of wrong) problems.push(`${label}${named}: ${PART_RULES[part]}`);
      return;
    }
    keys.push({ name, displayName, scopes: new Set(candidate.scopes), secret: candidate.secret });
  });
  keys.forEach((key, i) => {
    const earlier = keys.slice(0, i);
    if (earlier.some((other) => other.secret === key.secret)) problems.push('PORTAL_API_KEYS lists the same key twice');
    const sameName = earlier.find((other) => other.name === key.name);
    if (
      sameName &&
      (sameName.displayName !== key.displayName ||
        [...sameName.scopes].sort().join('+') !== [...key.scopes].sort().join('+'))
    ) {
      problems.push(
        `PORTAL_API_KEYS: the keys named ${key.name} must have the same display name and scopes (several keys of one portal are for rotating it)`,
      );
    }
  });
  return { keys, problems: [...new Set(problems)] };
}
