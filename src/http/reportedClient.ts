import type { Context } from 'koa';
import type { ClientContext } from './clientContext';

/** What a portal may tell about the browser it serves, in the body of its server-to-server call. */
export interface ReportedClient {
  clientIp?: string;
  userAgent?: string;
}

/** The JSON-schema properties of ReportedClient (ajv), for the bodies that accept it. */
export const REPORTED_CLIENT_PROPERTIES = {
  clientIp: { type: 'string', nullable: true, maxLength: 45, pattern: '^[0-9A-Fa-f:.]{2,45}$' },
  userAgent: { type: 'string', nullable: true, maxLength: 512 },
} as const;

/**
 * The browser behind a portal's call, for audit events and the confirm page: as the portal reports
 * it; without a report, the caller itself (the portal's address and User-Agent).
 */
export function reportedClient(ctx: Context, reported: ReportedClient): ClientContext {
  return {
    ip: reported.clientIp ?? ctx.ip,
    userAgent: reported.userAgent ?? ctx.get('user-agent').slice(0, 512),
  };
}
