import { createHash } from 'node:crypto';
import { UNNAMED_PORTAL } from '../security/PortalKey';
import type { Redis } from '../store/createRedis';
import type { RedisKeys } from '../store/RedisKeys';
import { RedisScript } from '../store/RedisScript';
import { ReplicaAcks } from '../store/ReplicaAcks';
import {
  CONFIRMED_GRACE_MS,
  KEEP_AFTER_EXPIRY_MS,
  OWNED_TICKETS_TTL_MS,
  type LoginTicket,
  type StoredTicketStatus,
} from './LoginTicket';
import type { ConfirmOutcome, LoginTicketStore, RedeemOutcome, ScanOutcome } from './LoginTicketStore';
import { sameIdentifier, tagOf, tagOfScene } from './ticketIdentifiers';

// Identifiers are compared through their SHA-1 inside Lua, so the comparison's timing says nothing
// about how much of a guess was right. Each change is published as the SHA-1 of the ticketId
// (never the ticketId, the browser's bearer secret) on one channel shared by all tickets.
const SAME =
  'local function same(a, b) return a and b and redis.sha1hex(a) == redis.sha1hex(b) end\n' +
  "local function announce(channel) redis.call('PUBLISH', channel, redis.sha1hex(redis.call('HGET', KEYS[1], 'tid'))) end\n";

// A scan that makes or meets an owner answers with the whole ticket in the same round trip.
const SCAN = new RedisScript(`${SAME}
local h = redis.call('HMGET', KEYS[1], 'scene', 'st', 'ea', 'oid')
if not same(h[1], ARGV[1]) then return {'unknown'} end
local st, ea, owner, now = h[2], tonumber(h[3]), h[4], tonumber(ARGV[4])
if st == 'pending' or st == 'needs_binding' then
  if now > ea then return {'expired'} end
  if ARGV[3] ~= '' then
    redis.call('HSET', KEYS[1], 'st', 'scanned', 'oid', ARGV[2], 'aid', ARGV[3], 'sa', ARGV[4])
    announce(ARGV[5])
    return {'scanned', redis.call('HGETALL', KEYS[1])}
  end
  if st == 'pending' then
    redis.call('HSET', KEYS[1], 'st', 'needs_binding')
    announce(ARGV[5])
  end
  return {'needs_binding'}
end
if owner ~= ARGV[2] then return {'in_use'} end
return {'owned', redis.call('HGETALL', KEYS[1])}`);

const DECIDE = `${SAME}
local h = redis.call('HMGET', KEYS[1], 'ct', 'st', 'ea', 'oid')
if not same(h[1], ARGV[1]) then return {'unknown'} end
if h[2] ~= 'scanned' then return {'wrong_status', h[2]} end
if tonumber(ARGV[3]) > tonumber(h[3]) then return {'expired'} end
if h[4] ~= ARGV[2] then return {'not_owner'} end
`;
const CONFIRM = new RedisScript(`${DECIDE}
redis.call('HSET', KEYS[1], 'st', 'confirmed', 'cfa', ARGV[3])
announce(ARGV[4])
return {'done'}`);
const CANCEL = new RedisScript(`${DECIDE}
redis.call('HSET', KEYS[1], 'st', 'cancelled')
announce(ARGV[4])
return {'done'}`);

// Another portal's ticket is answered as unknown before anything about it is looked at. A ticket
// stored before portals had names belongs to the unnamed portal (ARGV[6]).
const REDEEM = new RedisScript(`${SAME}
local h = redis.call('HMGET', KEYS[1], 'tid', 'st', 'ea', 'cfa', 'oid', 'aid', 'pk')
if not same(h[1], ARGV[1]) then return {'unknown'} end
if (h[7] or ARGV[6]) ~= ARGV[5] then return {'unknown'} end
if h[2] == 'redeemed' then return {'already_redeemed'} end
local now = tonumber(ARGV[2])
if h[2] ~= 'confirmed' then
  if now > tonumber(h[3]) then return {'expired'} end
  return {'not_confirmed'}
end
if now > math.max(tonumber(h[3]), tonumber(h[4]) + tonumber(ARGV[3])) then return {'expired'} end
redis.call('HSET', KEYS[1], 'st', 'redeemed')
announce(ARGV[4])
return {'redeemed', h[5], h[6]}`);

// The WeChat that scanned was unbound: its ticket ends, unless it is already over.
const END_OWNED = new RedisScript(`${SAME}
local h = redis.call('HMGET', KEYS[1], 'oid', 'st')
if h[1] ~= ARGV[1] or (h[2] ~= 'scanned' and h[2] ~= 'confirmed') then return 0 end
redis.call('HSET', KEYS[1], 'st', 'cancelled')
announce(ARGV[2])
return 1`);

/** One Redis hash per ticket, `login:{<tag>}`: its three identifiers all lead to it (see ticketIdentifiers). */
export class RedisLoginTicketStore implements LoginTicketStore {
  readonly channel: string;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly acks: ReplicaAcks = new ReplicaAcks(0, 0),
  ) {
    this.channel = keys.key('login', 'changes');
  }

  private key(tag: string): string {
    return this.keys.key('login', `{${tag}}`);
  }

  /** The tags of the tickets an openid scanned (a set), under the openid's SHA-1. */
  private ownedKey(openid: string): string {
    return this.keys.key('login', 'owned', createHash('sha1').update(openid).digest('hex'));
  }

  async create(ticket: LoginTicket): Promise<void> {
    const key = this.key(tagOf(ticket.ticketId)!);
    await this.redis
      .multi()
      .hSet(key, {
        tid: ticket.ticketId,
        scene: ticket.sceneStr,
        ct: ticket.confirmToken,
        st: ticket.status,
        ca: String(ticket.createdAt),
        ea: String(ticket.expiresAt),
        ip: ticket.clientIp,
        br: ticket.browser,
        pk: ticket.portal,
        pn: ticket.portalDisplayName,
        ...(ticket.qrScene ? { qs: ticket.qrScene } : {}),
      })
      .pExpire(key, ticket.expiresAt - ticket.createdAt + KEEP_AFTER_EXPIRY_MS)
      .exec();
  }

  async byTicketId(ticketId: string): Promise<LoginTicket | null> {
    const tag = tagOf(ticketId);
    const ticket = tag ? await this.read(tag) : null;
    return ticket && sameIdentifier(ticket.ticketId, ticketId) ? ticket : null;
  }

  async byConfirmToken(confirmToken: string): Promise<LoginTicket | null> {
    const tag = tagOf(confirmToken);
    const ticket = tag ? await this.read(tag) : null;
    return ticket && sameIdentifier(ticket.confirmToken, confirmToken) ? ticket : null;
  }

  async scan(sceneStr: string, openid: string, accountId: string | null, now: number): Promise<ScanOutcome> {
    const tag = tagOfScene(sceneStr);
    if (!tag) return { result: 'unknown' };
    // Listed before the scan can make this openid the owner, so an unbind that follows finds the
    // ticket (a tag listed for a scan that did not make it the owner is skipped by END_OWNED).
    if (accountId !== null) {
      await this.redis
        .multi()
        .sAdd(this.ownedKey(openid), tag)
        .pExpire(this.ownedKey(openid), OWNED_TICKETS_TTL_MS)
        .exec();
    }
    const [result, fields] = (await SCAN.run(
      this.redis,
      [this.key(tag)],
      [sceneStr, openid, accountId ?? '', String(now), this.channel],
    )) as [ScanOutcome['result'], string[]?];
    if (result === 'scanned' || result === 'owned') {
      const hash: Record<string, string> = {};
      for (let i = 0; i + 1 < fields!.length; i += 2) hash[fields![i]!] = fields![i + 1]!;
      const ticket = fromHash(hash);
      if (!ticket) return { result: 'unknown' };
      return { result, ticket };
    }
    return { result };
  }

  confirm(confirmToken: string, openid: string, now: number): Promise<ConfirmOutcome> {
    return this.decide(CONFIRM, confirmToken, openid, now);
  }

  cancel(confirmToken: string, openid: string, now: number): Promise<ConfirmOutcome> {
    return this.decide(CANCEL, confirmToken, openid, now);
  }

  async redeem(ticketId: string, portal: string, now: number): Promise<RedeemOutcome> {
    const tag = tagOf(ticketId);
    if (!tag) return { result: 'unknown' };
    const [result, openid, accountId] = (await REDEEM.run(
      this.redis,
      [this.key(tag)],
      [ticketId, String(now), String(CONFIRMED_GRACE_MS), this.channel, portal, UNNAMED_PORTAL.name],
    )) as string[];
    // A redeem lost in a failover would make the ticket redeemable once more.
    if (result === 'redeemed') await this.acks.after(this.redis, this.key(tag));
    if (result === 'redeemed') return { result, openid: openid!, accountId: accountId! };
    return { result } as RedeemOutcome;
  }

  async endOwnedBy(openid: string): Promise<LoginTicket[]> {
    const owned = this.ownedKey(openid);
    const tags = await this.redis.sMembers(owned);
    const ended: LoginTicket[] = [];
    // One script per ticket: each ticket's hash lives in its own Cluster slot.
    for (const tag of tags) {
      if ((await END_OWNED.run(this.redis, [this.key(tag)], [openid, this.channel])) === 1) {
        // An unbind a failover undid would let the login go on.
        await this.acks.after(this.redis, this.key(tag));
        const ticket = await this.read(tag);
        if (ticket) ended.push(ticket);
      }
    }
    if (tags.length > 0) await this.redis.sRem(owned, tags);
    return ended;
  }

  private async decide(
    script: RedisScript,
    confirmToken: string,
    openid: string,
    now: number,
  ): Promise<ConfirmOutcome> {
    const tag = tagOf(confirmToken);
    if (!tag) return { result: 'unknown' };
    const [result, status] = (await script.run(
      this.redis,
      [this.key(tag)],
      [confirmToken, openid, String(now), this.channel],
    )) as string[];
    // The phone is told "confirmed" only once a failover can no longer undo it.
    if (result === 'done') await this.acks.after(this.redis, this.key(tag));
    if (result === 'wrong_status') return { result, status: status as StoredTicketStatus };
    return { result } as ConfirmOutcome;
  }

  private async read(tag: string): Promise<LoginTicket | null> {
    return fromHash(await this.redis.hGetAll(this.key(tag)));
  }
}

function fromHash(h: Record<string, string | undefined>): LoginTicket | null {
  if (!h.tid) return null;
  const ticket: LoginTicket = {
    ticketId: h.tid,
    sceneStr: h.scene!,
    confirmToken: h.ct!,
    status: h.st as StoredTicketStatus,
    createdAt: Number(h.ca),
    expiresAt: Number(h.ea),
    clientIp: h.ip ?? '',
    browser: h.br ?? '',
    portal: h.pk ?? UNNAMED_PORTAL.name,
    portalDisplayName: h.pn ?? UNNAMED_PORTAL.displayName,
  };
  if (h.qs) ticket.qrScene = h.qs;
  if (h.oid) ticket.openid = h.oid;
  if (h.aid) ticket.accountId = h.aid;
  if (h.sa) ticket.scannedAt = Number(h.sa);
  if (h.cfa) ticket.confirmedAt = Number(h.cfa);
  return ticket;
}
