// compose.yaml runs what the README promises: two gateway replicas behind one published port, Redis
// with an append-only file, Postgres, and a one-shot migration the gateways wait for, each with a
// health check, a restart policy and named volumes for the state. Docker is not available where the
// tests run, so this reads the file (YAML merge keys resolved, as Compose does) rather than starting it.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';

interface Service {
  image?: string;
  build?: string;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  restart?: string;
  configs?: Array<{ source: string; target: string }>;
}
interface Compose {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
  configs: Record<string, { content: string }>;
}

const compose = parseYaml(readFileSync(new URL('../../compose.yaml', import.meta.url), 'utf8'), { merge: true }) as Compose;
const { services } = compose;
const gateways = ['gateway-1', 'gateway-2'];
// Compose substitutes ${VAR:-default} and turns `$$` into `$`.
const interpolate = (text: string) => text.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1').replaceAll('$$', '$');

describe('compose.yaml', () => {
  it('runs a load balancer, two gateways, a migration, Redis and Postgres', () => {
    expect(Object.keys(services).sort()).toEqual(['gateway-1', 'gateway-2', 'lb', 'migrate', 'postgres', 'redis']);
  });

  it('publishes one port, the load balancer\'s, which spreads requests over both gateways', () => {
    const published = Object.entries(services).filter(([, s]) => s.ports?.length);
    expect(published.map(([name]) => name)).toEqual(['lb']);
    const [config] = services.lb!.configs!;
    const nginx = interpolate(compose.configs[config!.source]!.content);
    expect(config!.target).toBe('/etc/nginx/conf.d/default.conf');
    for (const name of gateways) expect(nginx).toContain(`server ${name}:${services[name]!.environment!.PORT}`);
    expect(nginx).toMatch(/proxy_buffering off;/);
    // A POST that reached a gateway is never sent to the other one (it could be charged twice).
    expect(nginx).toMatch(/proxy_next_upstream error;/);
    expect(nginx).toContain('proxy_set_header Host $host;');
  });

  it('gives every long-running service a health check and a restart policy, and the migration neither', () => {
    for (const [name, service] of Object.entries(services)) {
      if (name === 'migrate') {
        expect(service.restart).toBe('no');
        expect(service.command).toEqual(['migrate']);
        continue;
      }
      expect(service.healthcheck?.test.length, name).toBeGreaterThan(0);
      expect(service.restart, name).toBe('unless-stopped');
    }
    for (const name of gateways) expect(services[name]!.healthcheck!.test.join(' ')).toContain('http://127.0.0.1:8080/ready');
  });

  it('starts the gateways only after the migration succeeded and the stores are healthy', () => {
    for (const name of gateways) {
      expect(services[name]!.depends_on).toEqual({
        migrate: { condition: 'service_completed_successfully' },
        redis: { condition: 'service_healthy' },
        postgres: { condition: 'service_healthy' },
      });
    }
    expect(services.migrate!.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
    expect(services.lb!.depends_on).toEqual({ 'gateway-1': { condition: 'service_healthy' }, 'gateway-2': { condition: 'service_healthy' } });
  });

  it('runs Redis with an append-only file synced every second, on a named volume', () => {
    const command = services.redis!.command!;
    expect(command.slice(command.indexOf('--appendonly'), command.indexOf('--appendonly') + 2)).toEqual(['--appendonly', 'yes']);
    expect(command.slice(command.indexOf('--appendfsync'), command.indexOf('--appendfsync') + 2)).toEqual(['--appendfsync', 'everysec']);
    expect(services.redis!.volumes).toEqual(['redis-data:/data']);
    expect(services.postgres!.volumes).toEqual(['postgres-data:/var/lib/postgresql/data']);
    expect(Object.keys(compose.volumes).sort()).toEqual(['postgres-data', 'redis-data']);
  });

  it('points the gateways and the migration at the same stores, with settings the gateway accepts', () => {
    const postgres = services.postgres!.environment!;
    const databaseUrl = interpolate(services.migrate!.environment!.DATABASE_URL!);
    expect(new URL(databaseUrl)).toMatchObject({ hostname: 'postgres', username: postgres.POSTGRES_USER, password: interpolate(postgres.POSTGRES_PASSWORD!), pathname: `/${postgres.POSTGRES_DB}` });
    for (const name of gateways) {
      const service = services[name]!;
      expect(service.image).toBe(services.migrate!.image);
      expect(service.command).toEqual(['serve']);
      const env = Object.fromEntries(Object.entries(service.environment!).map(([k, v]) => [k, interpolate(v)]));
      expect(env.DATABASE_URL).toBe(databaseUrl);
      const config = loadConfig({ env });
      expect(config).toMatchObject({ redisUrl: 'redis://redis:6379', databaseUrl, server: { port: 8080, workers: 1 } });
    }
  });
});
