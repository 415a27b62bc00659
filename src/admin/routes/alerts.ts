// Alerts: list with filters, read one and its history, acknowledge, resolve. Managers see and act
// on their teams' alerts, developers read their own, readers read; gateway-wide alerts (no org)
// belong to admins of the whole gateway.
import { z } from 'zod';
import { alertsSchema, severitySchema } from '../../alerts/config.js';
import type { AlertRow } from '../../alerts/payload.js';
import { alertHistory, createAlertStore, getAlert, listAlerts } from '../../alerts/store.js';
import { GatewayError } from '../../errors/catalogue.js';
import type { Access } from '../access.js';
import type { Permission } from '../rbac.js';
import { type AdminSettings, route } from '../route.js';
import { limit, queryBool } from '../schemas.js';

async function visibleAlert(access: Access, permission: Permission, alert: AlertRow): Promise<AlertRow> {
  const v = await access.visibility(permission);
  const outside = (v.orgId !== null && alert.orgId !== v.orgId) || (v.teamIds !== null && !(alert.teamId && v.teamIds.includes(alert.teamId))) || (v.userId !== null && alert.userId !== v.userId);
  if (outside) throw new GatewayError('forbidden', 'That alert is outside what your role may see.');
  return alert;
}

export const alertsSettings = (settings: AdminSettings) => settings.alerts ?? alertsSchema.parse({});

const actorName = (access: Access) => access.actor.userId ?? `${access.actor.type}:${access.actor.id}`;

export const alertRoutes = [
  route({
    method: 'GET', path: '/alerts', tag: 'alerts', summary: 'List alerts, newest first (active=true: firing or acknowledged)', permission: 'alerts:read',
    query: z.object({ active: queryBool.optional(), state: z.enum(['firing', 'acknowledged', 'resolved']).optional(), severity: severitySchema.optional(), source: z.string().max(100).optional(), limit }),
    async handle({ db, access, query }) {
      return { data: await listAlerts(db, await access.visibility('alerts:read'), query) };
    },
  }),
  route({
    method: 'GET', path: '/alerts/:id', tag: 'alerts', summary: 'Get an alert', permission: 'alerts:read',
    async handle({ db, access, params }) {
      return visibleAlert(access, 'alerts:read', await getAlert(db, params.id!));
    },
  }),
  route({
    method: 'GET', path: '/alerts/:id/history', tag: 'alerts', summary: "An alert's history: fired, notified, repeated, escalated, inhibited, acknowledged, resolved", permission: 'alerts:read',
    async handle({ db, access, params }) {
      await visibleAlert(access, 'alerts:read', await getAlert(db, params.id!));
      return { data: await alertHistory(db, params.id!) };
    },
  }),
  route({
    method: 'POST', path: '/alerts/:id/acknowledge', tag: 'alerts', summary: 'Acknowledge a firing alert: it stops repeating and escalating', permission: 'alerts:write',
    async handle({ db, access, params, settings }) {
      await visibleAlert(access, 'alerts:write', await getAlert(db, params.id!));
      return createAlertStore({ db, config: alertsSettings(settings) }).acknowledge(params.id!, actorName(access));
    },
  }),
  route({
    method: 'POST', path: '/alerts/:id/resolve', tag: 'alerts', summary: 'Resolve an alert (its channels get the resolved notice)', permission: 'alerts:write',
    async handle({ db, access, params, settings }) {
      await visibleAlert(access, 'alerts:write', await getAlert(db, params.id!));
      return createAlertStore({ db, config: alertsSettings(settings) }).resolve(params.id!, actorName(access));
    },
  }),
];
