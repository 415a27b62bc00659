// Notification channels and the routes that send alerts to them. Secrets (webhook signing
// secrets, the Slack URL) are shown once, in the answer that creates or rotates them. A channel
// of an org receives only that org's alerts; gateway-wide channels (no org) are an admin's.
import { pino } from 'pino';
import { z } from 'zod';
import { channelInput, createChannel, createRoute, getChannel, getRoute, listChannels, listRoutes, publicChannel, removeChannel, removeRoute, rotateChannelSecret, routeInput, setChannelEnabled } from '../../alerts/channel-store.js';
import { createDeliverer, type ChannelRow } from '../../alerts/channels/index.js';
import { newWebhookId } from '../../alerts/outbox.js';
import { GatewayError } from '../../errors/catalogue.js';
import type { Access } from '../access.js';
import type { Permission } from '../rbac.js';
import { route } from '../route.js';
import { id } from '../schemas.js';
import { alertsSettings } from './alerts.js';

async function assertChannelOrg(access: Access, permission: Permission, orgId: string | null): Promise<void> {
  const { orgId: own } = await access.visibility(permission);
  if (own && orgId !== own && !(orgId === null && permission.endsWith(':read'))) throw new GatewayError('forbidden', 'That channel is outside what your role may manage.');
}

async function visibleChannel(access: Access, permission: Permission, channel: ChannelRow): Promise<ChannelRow> {
  await assertChannelOrg(access, permission, channel.orgId);
  return channel;
}

const orgField = { orgId: id.nullable().optional() };

// The org a new channel or route belongs to: the one given, else the actor's own; null (gateway-wide) only for unconfined admins.
async function targetOrg(access: Access, given: string | null | undefined): Promise<string | null> {
  const { orgId: own } = await access.visibility('channels:write');
  const orgId = given === undefined ? own : given;
  await assertChannelOrg(access, 'channels:write', orgId);
  return orgId;
}

export const alertChannelRoutes = [
  route({
    method: 'GET', path: '/alert-channels', tag: 'alerts', summary: 'List notification channels (secrets are never shown)', permission: 'channels:read',
    async handle({ db, access }) {
      return { data: await listChannels(db, (await access.visibility('channels:read')).orgId) };
    },
  }),
  route({
    method: 'POST', path: '/alert-channels', tag: 'alerts', summary: 'Add a channel: console, webhook (url; a whsec_ secret is generated and shown once), slack (incoming-webhook url) or email (to)', permission: 'channels:write', status: 201,
    body: z.intersection(channelInput, z.object(orgField)),
    async handle({ db, access, body, settings }) {
      const { orgId, ...input } = body;
      return createChannel(db, await targetOrg(access, orgId), input as z.infer<typeof channelInput>, alertsSettings(settings).allowPrivateDestinations);
    },
  }),
  route({
    method: 'GET', path: '/alert-channels/:id', tag: 'alerts', summary: 'Get a channel', permission: 'channels:read',
    async handle({ db, access, params }) {
      return publicChannel(await visibleChannel(access, 'channels:read', await getChannel(db, params.id!)));
    },
  }),
  route({
    method: 'DELETE', path: '/alert-channels/:id', tag: 'alerts', summary: 'Remove a channel, its routes and its undelivered notifications', permission: 'channels:write',
    async handle({ db, access, params }) {
      await visibleChannel(access, 'channels:write', await getChannel(db, params.id!));
      await removeChannel(db, params.id!);
      return { id: params.id, removed: true };
    },
  }),
  route({
    method: 'POST', path: '/alert-channels/:id/test', tag: 'alerts', summary: 'Send a test notification now and report what the receiver answered', permission: 'channels:write',
    async handle({ db, access, params, settings }) {
      const channel = await visibleChannel(access, 'channels:write', await getChannel(db, params.id!));
      const deliverer = createDeliverer(alertsSettings(settings), pino({ name: 'alerts' }));
      const nowMs = Date.now();
      const webhookId = newWebhookId();
      const at = new Date(nowMs).toISOString();
      try {
        const result = await deliverer.deliver(channel, webhookId, {
          type: 'alert.test',
          timestamp: at,
          data: { id: 'test', fingerprint: 'test', source: 'test', name: 'channel.test', severity: 'low', state: 'firing', summary: `Test notification for channel ${channel.name}`, orgId: channel.orgId, teamId: null, userId: null, figures: {}, firstSeenAt: at, lastSeenAt: at, ackedBy: null, resolvedAt: null, resolvedBy: null, escalationStep: 0 },
        }, nowMs);
        return { channelId: channel.id, webhookId, ...result };
      } finally {
        await deliverer.close();
      }
    },
  }),
  route({
    method: 'POST', path: '/alert-channels/:id/rotate-secret', tag: 'alerts', summary: "A new webhook signing secret (shown once); the old ones keep signing for the key rotation grace period", permission: 'channels:write',
    async handle({ db, access, params, settings }) {
      await visibleChannel(access, 'channels:write', await getChannel(db, params.id!));
      return rotateChannelSecret(db, params.id!, settings.rotationGraceMs);
    },
  }),
  route({
    method: 'POST', path: '/alert-channels/:id/enable', tag: 'alerts', summary: 'Enable a channel again (after a 410 Gone disabled it)', permission: 'channels:write',
    async handle({ db, access, params }) {
      await visibleChannel(access, 'channels:write', await getChannel(db, params.id!));
      return setChannelEnabled(db, params.id!, true);
    },
  }),
  route({
    method: 'GET', path: '/alert-routes', tag: 'alerts', summary: 'List alert routes by step', permission: 'channels:read',
    async handle({ db, access }) {
      return { data: await listRoutes(db, (await access.visibility('channels:read')).orgId) };
    },
  }),
  route({
    method: 'POST', path: '/alert-routes', tag: 'alerts', summary: 'Route alerts matching team, source and minimum severity to a channel at an escalation step (0: on firing)', permission: 'channels:write', status: 201,
    body: routeInput.extend(orgField),
    async handle({ db, access, body }) {
      const { orgId, ...input } = body;
      const channel = await visibleChannel(access, 'channels:write', await getChannel(db, input.channelId));
      // By default a route serves the alerts of its channel's org.
      return createRoute(db, await targetOrg(access, orgId === undefined ? channel.orgId : orgId), input);
    },
  }),
  route({
    method: 'DELETE', path: '/alert-routes/:id', tag: 'alerts', summary: 'Remove a route', permission: 'channels:write',
    async handle({ db, access, params }) {
      await assertChannelOrg(access, 'channels:write', (await getRoute(db, params.id!)).orgId);
      await removeRoute(db, params.id!);
      return { id: params.id, removed: true };
    },
  }),
];
