// Notification channels and routes as the control plane manages them. Channel input is validated
// here (zod, shared with the admin API); secrets are returned once, at creation or rotation, and
// every other read shows the public view.
import { and, eq, inArray, isNull, or, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { alertChannels, alertRoutes, type ChannelSecret } from '../../drizzle/schema/index.js';
import { newId } from '../auth/keys.js';
import type { Db } from '../db/database.js';
import { GatewayError } from '../errors/catalogue.js';
import type { ChannelRow } from './channels/index.js';
import { newSigningSecret } from './channels/signing.js';
import { severitySchema } from './config.js';
import { assertDestinationUrl, DestinationRefusedError } from './destination.js';

const name = z.string().trim().min(1).max(200);
const url = z.url().max(2000);

export const channelInput = z.discriminatedUnion('type', [
  z.object({ type: z.literal('console'), name }),
  // A secret may be brought along (whsec_ + base64); one is generated otherwise.
  z.object({ type: z.literal('webhook'), name, url, secret: z.string().regex(/^whsec_[A-Za-z0-9+/]{16,}={0,2}$/, 'must be whsec_ followed by base64').optional() }),
  z.object({ type: z.literal('slack'), name, url }),
  z.object({ type: z.literal('email'), name, to: z.array(z.email().max(320)).min(1).max(50) }),
]);
export type ChannelInput = z.infer<typeof channelInput>;

export const routeInput = z.object({
  channelId: z.string().min(1).max(200),
  teamId: z.string().min(1).max(200).nullable().default(null),
  source: z.string().min(1).max(100).nullable().default(null),
  minSeverity: severitySchema.default('low'),
  step: z.number().int().min(0).max(10).default(0),
});
export type RouteInput = z.infer<typeof routeInput>;

export interface PublicChannel {
  id: string;
  orgId: string | null;
  name: string;
  type: string;
  settings: Record<string, unknown>;
  enabled: boolean;
  disabledReason: string | null;
  consecutiveFailures: number;
  createdAt: Date;
}

export const publicChannel = (c: ChannelRow): PublicChannel => ({
  id: c.id,
  orgId: c.orgId,
  name: c.name,
  type: c.type,
  settings: c.settings,
  enabled: c.enabled,
  disabledReason: c.disabledReason,
  consecutiveFailures: c.consecutiveFailures,
  createdAt: c.createdAt,
});

function checkDestination(raw: string, allowPrivate: boolean): void {
  try {
    assertDestinationUrl(raw, allowPrivate);
  } catch (err) {
    if (err instanceof DestinationRefusedError) throw new GatewayError('invalid_request', err.message, 'url');
    throw err;
  }
}

// The Slack URL is itself the credential: only its host is shown.
export async function createChannel(db: Db, orgId: string | null, input: ChannelInput, allowPrivate: boolean): Promise<PublicChannel & { secret?: string; url?: string }> {
  let settings: Record<string, unknown> = {};
  let secrets: ChannelRow['secrets'] = {};
  let shown: { secret?: string; url?: string } = {};
  if (input.type === 'webhook') {
    checkDestination(input.url, allowPrivate);
    const secret = input.secret ?? newSigningSecret();
    settings = { url: input.url };
    secrets = { signing: [{ secret, expiresAt: null }] };
    shown = { secret };
  } else if (input.type === 'slack') {
    checkDestination(input.url, allowPrivate);
    settings = { host: new URL(input.url).host };
    secrets = { url: input.url };
    shown = { url: input.url };
  } else if (input.type === 'email') settings = { to: input.to };
  const [row] = await db.insert(alertChannels).values({ id: newId('ch'), orgId, name: input.name, type: input.type, settings, secrets }).returning();
  return { ...publicChannel(row!), ...shown };
}

export async function getChannel(db: Db, id: string): Promise<ChannelRow> {
  const [row] = await db.select().from(alertChannels).where(eq(alertChannels.id, id));
  if (!row) throw new GatewayError('not_found', `No alert channel ${id}.`);
  return row;
}

// orgId null: every channel; otherwise that org's and the gateway-wide ones.
export async function listChannels(db: Db, orgId: string | null): Promise<PublicChannel[]> {
  const rows = await db.select().from(alertChannels).where(orgId ? or(eq(alertChannels.orgId, orgId), isNull(alertChannels.orgId)) : undefined).orderBy(alertChannels.createdAt, alertChannels.id);
  return rows.map(publicChannel);
}

export async function removeChannel(db: Db, id: string): Promise<void> {
  await db.delete(alertChannels).where(eq(alertChannels.id, id));
}

export async function setChannelEnabled(db: Db, id: string, enabled: boolean): Promise<PublicChannel> {
  const [row] = await db.update(alertChannels).set({ enabled, disabledReason: null, consecutiveFailures: 0, updatedAt: new Date() }).where(eq(alertChannels.id, id)).returning();
  if (!row) throw new GatewayError('not_found', `No alert channel ${id}.`);
  return publicChannel(row);
}

// A new signing secret; the previous ones keep signing for graceMs so receivers can switch over.
export async function rotateChannelSecret(db: Db, id: string, graceMs: number, nowMs = Date.now()): Promise<PublicChannel & { secret: string }> {
  const channel = await getChannel(db, id);
  if (channel.type !== 'webhook') throw new GatewayError('invalid_request', 'Only webhook channels have signing secrets.');
  const secret = newSigningSecret();
  const expiresAt = new Date(nowMs + graceMs).toISOString();
  const kept: ChannelSecret[] = (channel.secrets.signing ?? [])
    .filter((s) => s.expiresAt === null || Date.parse(s.expiresAt) > nowMs)
    .map((s) => ({ secret: s.secret, expiresAt: s.expiresAt ?? expiresAt }));
  const [row] = await db.update(alertChannels).set({ secrets: { ...channel.secrets, signing: [{ secret, expiresAt: null }, ...kept] }, updatedAt: new Date(nowMs) }).where(eq(alertChannels.id, id)).returning();
  return { ...publicChannel(row!), secret };
}

export type RouteRow = typeof alertRoutes.$inferSelect;

export async function createRoute(db: Db, orgId: string | null, input: RouteInput): Promise<RouteRow> {
  const channel = await getChannel(db, input.channelId);
  if (channel.orgId && channel.orgId !== orgId) throw new GatewayError('invalid_request', 'That channel belongs to another org.', 'channelId');
  const [row] = await db.insert(alertRoutes).values({ id: newId('rt'), orgId, ...input }).returning();
  return row!;
}

export async function listRoutes(db: Db, orgId: string | null, channelIds?: readonly string[]): Promise<RouteRow[]> {
  const where: SQL[] = [];
  if (orgId) where.push(eq(alertRoutes.orgId, orgId));
  if (channelIds) where.push(channelIds.length ? inArray(alertRoutes.channelId, [...channelIds]) : eq(alertRoutes.id, ''));
  return db.select().from(alertRoutes).where(and(...where)).orderBy(alertRoutes.step, alertRoutes.createdAt);
}

export async function getRoute(db: Db, id: string): Promise<RouteRow> {
  const [row] = await db.select().from(alertRoutes).where(eq(alertRoutes.id, id));
  if (!row) throw new GatewayError('not_found', `No alert route ${id}.`);
  return row;
}

export async function removeRoute(db: Db, id: string): Promise<void> {
  await db.delete(alertRoutes).where(eq(alertRoutes.id, id));
}
