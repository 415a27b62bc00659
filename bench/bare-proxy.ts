// The floor for the gateway's numbers: the fastest pass-through proxy we can write with undici.
// Pool.dispatch pipes upstream bytes straight into the response, with no parsing, auth or
// metering. Run: node --import ./bin/typescript.js bench/bare-proxy.ts PORT UPSTREAM_ORIGIN
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { Pool } from 'undici';

export function startBareProxy(port: number, upstreamOrigin: string) {
  const pool = new Pool(upstreamOrigin, { connections: 128, keepAliveTimeout: 30_000 });
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers: IncomingHttpHeaders = { 'content-type': 'application/json', authorization: 'Bearer sk-upstream' };
      pool.dispatch(
        { method: req.method as 'POST', path: req.url ?? '/', headers: headers as Record<string, string>, body: Buffer.concat(chunks) },
        {
          onRequestStart() {},
          onResponseStart(_c, status, upstreamHeaders) {
            const out: Record<string, string | string[]> = {};
            for (const [k, v] of Object.entries(upstreamHeaders)) if (v !== undefined && k !== 'connection' && k !== 'keep-alive' && k !== 'transfer-encoding') out[k] = v;
            res.writeHead(status, out);
          },
          onResponseData(_c, chunk) {
            res.write(chunk);
          },
          onResponseEnd() {
            res.end();
          },
          onResponseError(_c, err) {
            if (!res.headersSent) res.writeHead(502);
            res.end(String(err));
          },
        },
      );
    });
  });
  server.keepAliveTimeout = 65_000;
  return new Promise<{ close(): Promise<void> }>((resolve) =>
    server.listen(port, '127.0.0.1', () =>
      resolve({
        close: async () => {
          server.closeAllConnections();
          server.close();
          await pool.close();
        },
      }),
    ),
  );
}

if (process.argv[1]?.endsWith('bare-proxy.ts')) {
  await startBareProxy(Number(process.argv[2]), process.argv[3]!);
  process.stdout.write('bare proxy listening\n');
}
