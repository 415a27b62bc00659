// Real notification receivers on loopback: a webhook endpoint that verifies every delivery with the
// standardwebhooks package and answers as scripted, a Slack-shaped incoming webhook, and an SMTP
// server whose messages are parsed with mailparser.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { Webhook } from 'standardwebhooks';

export interface WebhookDelivery {
  id: string;
  timestamp: string;
  verified: boolean;
  status: number;
  atMs: number;
  signature: string;
  raw: string;
  body: any;
}

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (text += d));
    req.on('end', () => resolve(text));
    req.on('error', reject);
  });

function listen(server: Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

const close = (server: Server) => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); });

export interface WebhookReceiver {
  readonly url: string;
  readonly deliveries: WebhookDelivery[];
  // What the next requests are answered with: a status and optional headers; 'hang' never answers.
  respond(status: number | 'hang', headers?: Record<string, string>): void;
  // Verification uses these secrets (any one verifying is enough, as during a rotation).
  secrets: string[];
  // down(): connections are refused; up(): listening again on the same port.
  down(): Promise<void>;
  up(): Promise<void>;
  // Delivered (answered 2xx) webhook-ids with how many times each was accepted.
  accepted(): Map<string, number>;
  stop(): Promise<void>;
}

export async function startWebhookReceiver(secrets: string[] = []): Promise<WebhookReceiver> {
  let answer: { status: number | 'hang'; headers: Record<string, string> } = { status: 200, headers: {} };
  const deliveries: WebhookDelivery[] = [];
  const make = () =>
    createServer(async (req, res) => {
      const body = await readBody(req);
      const headers = { 'webhook-id': String(req.headers['webhook-id']), 'webhook-timestamp': String(req.headers['webhook-timestamp']), 'webhook-signature': String(req.headers['webhook-signature']) };
      const verified = receiver.secrets.some((s) => {
        try {
          new Webhook(s).verify(body, headers);
          return true;
        } catch {
          return false;
        }
      });
      const { status } = answer;
      deliveries.push({ id: headers['webhook-id'], timestamp: headers['webhook-timestamp'], verified, status: status === 'hang' ? 0 : status, atMs: Date.now(), signature: headers['webhook-signature'], raw: body, body: JSON.parse(body) });
      if (status === 'hang') return;
      res.writeHead(status, answer.headers).end(status < 300 ? '' : 'unavailable');
    });
  let server = make();
  const port = await listen(server);
  let running = true;
  const receiver: WebhookReceiver = {
    url: `http://127.0.0.1:${port}/hooks`,
    deliveries,
    secrets,
    respond(status, headers = {}) {
      answer = { status, headers };
    },
    async down() {
      if (running) await close(server);
      running = false;
    },
    async up() {
      if (running) return;
      server = make();
      await listen(server, port);
      running = true;
    },
    accepted() {
      const counts = new Map<string, number>();
      for (const d of deliveries) if (d.status >= 200 && d.status < 300) counts.set(d.id, (counts.get(d.id) ?? 0) + 1);
      return counts;
    },
    stop: () => receiver.down(),
  };
  return receiver;
}

export interface SlackReceiver {
  readonly url: string;
  readonly messages: any[];
  stop(): Promise<void>;
}

// Answers like hooks.slack.com: "ok" for a message with text or blocks, 400 invalid_payload otherwise.
export async function startSlackReceiver(): Promise<SlackReceiver> {
  const messages: any[] = [];
  const server = createServer(async (req, res) => {
    const message = JSON.parse(await readBody(req));
    if (typeof message.text !== 'string' || !Array.isArray(message.blocks)) return void res.writeHead(400).end('invalid_payload');
    messages.push(message);
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}/services/T000/B000/XXXX`, messages, stop: () => close(server) };
}

export interface MailReceiver {
  readonly smtpUrl: string;
  readonly mails: ParsedMail[];
  stop(): Promise<void>;
}

export async function startMailReceiver(): Promise<MailReceiver> {
  const mails: ParsedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then((mail) => {
          mails.push(mail);
          callback();
        })
        .catch(callback);
    },
  });
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.server.address() as AddressInfo).port)));
  return { smtpUrl: `smtp://127.0.0.1:${port}`, mails, stop: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
