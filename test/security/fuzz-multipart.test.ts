// Hostile multipart uploads against the metered media routes (images edits and variations, audio
// transcriptions and translations): bytes as an attacker would send them, framed by content-length
// or chunked. Properties: no body crashes the process (/health still answers) or gets a 500, and
// every error the gateway makes itself is catalogued, in OpenAI's shape, with x-request-id.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type MockUpstream, startMockUpstream } from '../../bench/mock-upstream.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { gatewayAnswerProblem } from './support/error-shape.js';
import { rawRequest } from './support/raw-http.js';

vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 });

let mock: MockUpstream;
let gw: TestGateway;

beforeAll(async () => {
  mock = await startMockUpstream();
  gw = await startTestGateway({ mock });
});

afterAll(async () => {
  await gw?.close();
  await mock?.close();
});

// The gateway runs in this process: an error nothing listened for would end a real server, so it
// fails the test here rather than being caught and reported aside by the runner.
const uncaught: unknown[] = [];
process.on('uncaughtExceptionMonitor', (err) => uncaught.push(err));

const uploadPaths = ['/v1/images/edits', '/v1/images/variations', '/v1/audio/transcriptions', '/v1/audio/translations'];

const stillUp = async () => {
  const health = await rawRequest(gw.url, { method: 'GET', target: '/health', headers: [] });
  expect(health.status).toBe(200);
  expect(uncaught).toEqual([]);
};

const send = (target: string, contentType: string, body: Buffer | string, chunked = false) =>
  rawRequest(gw.url, { method: 'POST', target, headers: [['authorization', `Bearer ${gw.key}`], ['content-type', contentType]], body, chunked });

describe('a hostile upload cannot take the gateway down', () => {
  it('a multipart body cut short inside a file part is a 400, and the process lives on', async () => {
    const boundary = 'cut-short';
    const body = `--${boundary}\r\ncontent-disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="a.wav"\r\n\r\nRIFF`;
    for (const chunked of [false, true]) {
      const res = await send('/v1/audio/transcriptions', `multipart/form-data; boundary=${boundary}`, body, chunked);
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'invalid_request' } });
    }
    await stillUp();
  });

  it('no generated multipart body gets a 500 or an uncatalogued error', async () => {
    const name = fc.constantFrom('model', 'file', 'image', 'image[]', 'mask', 'n', 'size', 'quality', 'prompt', '__proto__', 'constructor', '');
    const value = fc.oneof(fc.constantFrom('whisper-1', 'dall-e-2', 'gpt-image-1', '2', '-1', '1e9', 'auto', '256x256', '{"toString":1}'), fc.string({ maxLength: 40 }), fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')));
    const part = fc.record({ name, value, filename: fc.option(fc.constantFrom('a.wav', 'a.png', '', '"', '../../x'), { nil: undefined }), headerNoise: fc.constantFrom('', 'content-type: audio/wav\r\n', 'content-transfer-encoding: base64\r\n', 'x: \u0000\r\n') });
    const upload = fc.record({
      target: fc.constantFrom(...uploadPaths),
      boundary: fc.constantFrom('b', 'x'.repeat(70), 'with space', 'tollgate-boundary'),
      contentType: fc.constantFrom('multipart/form-data; boundary=%B', 'multipart/form-data; boundary="%B"', 'multipart/form-data', 'multipart/form-data; boundary=%B; boundary=other', 'multipart/mixed; boundary=%B'),
      parts: fc.array(part, { maxLength: 8 }),
      close: fc.constantFrom('', '--%B--\r\n', '--%B--', '--%B'),
      cutAt: fc.option(fc.nat(), { nil: undefined }),
      chunked: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(upload, async (u) => {
        const b = u.boundary;
        const parts = u.parts.map((p) => `--${b}\r\ncontent-disposition: form-data; name="${p.name}"${p.filename === undefined ? '' : `; filename="${p.filename}"`}\r\n${p.headerNoise}\r\n${p.value}\r\n`);
        let body = Buffer.from(parts.join('') + u.close.replaceAll('%B', b), 'latin1');
        if (u.cutAt !== undefined && body.length > 0) body = body.subarray(0, u.cutAt % body.length);
        const res = await send(u.target, u.contentType.replaceAll('%B', b), body, u.chunked);
        const problem = gatewayAnswerProblem(res, 'openai');
        if (problem) throw new Error(`${u.target}: ${problem}`);
      }),
      { numRuns: 80 },
    );
    await stillUp();
  });
});
