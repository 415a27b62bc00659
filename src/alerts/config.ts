// Options of alerting (config key `alerts`): how budget crossings map to severities, how often
// firing alerts repeat and escalate, and how the outbox sender delivers.
import { z } from 'zod';

const positiveInt = z.number().int().positive();

export const severities = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof severities)[number];
export const severitySchema = z.enum(severities);
export const severityRank = (s: Severity): number => severities.indexOf(s);

export const alertsSchema = z
  .object({
    enabled: z.boolean().default(true),
    // The severity each budget crossing level raises.
    budgetSeverity: z
      .object({
        warning: severitySchema.default('medium'),
        critical: severitySchema.default('high'),
        exceeded: severitySchema.default('critical'),
      })
      .prefault({}),
    // A firing, unacknowledged alert is sent again this often.
    repeatIntervalMs: positiveInt.default(4 * 3_600_000),
    // Still unacknowledged this long after firing (or after the last escalation), an alert goes to
    // the routes of the next step.
    escalateAfterMs: positiveInt.default(30 * 60_000),
    // How often expiries, repeats and escalations are looked for.
    sweepIntervalMs: positiveInt.default(5_000),
    // Delivered, dropped and failed notifications are deleted this long after they were queued
    // (the alerts and their history stay).
    outboxRetentionMs: positiveInt.default(30 * 86_400_000),
    // Loopback, private, link-local and unique-local destinations are refused unless allowed
    // (a webhook URL is otherwise a way to reach the gateway's own network).
    allowPrivateDestinations: z.boolean().default(false),
    // SMTP server for email channels (SMTP_URL), e.g. smtp://user:pass@host:587.
    smtpUrl: z.string().optional(),
    emailFrom: z.string().min(3).default('Tollgate <tollgate@localhost>'),
    delivery: z
      .object({
        pollIntervalMs: positiveInt.default(500),
        // Rows one replica delivers at once.
        concurrency: positiveInt.max(64).default(4),
        timeoutMs: positiveInt.default(10_000),
        // A claimed row is not picked again before this (must exceed timeoutMs): a sender that
        // died mid-delivery hands its rows on after it.
        leaseMs: positiveInt.default(60_000),
        backoffBaseMs: positiveInt.default(1_000),
        backoffMaxMs: positiveInt.default(10 * 60_000),
        // A Retry-After longer than this is shortened to it.
        maxRetryAfterMs: positiveInt.default(3_600_000),
        // Past this age a row still undelivered is marked failed.
        maxAgeMs: positiveInt.default(24 * 3_600_000),
        // Consecutive failed attempts after which a channel raises its own alert.
        failingAfter: positiveInt.default(5),
      })
      .prefault({})
      .refine((d) => d.leaseMs > d.timeoutMs, { message: 'leaseMs must exceed timeoutMs' }),
  })
  .prefault({});

export type AlertsConfig = z.output<typeof alertsSchema>;
