// A mock of OpenAI's realtime websocket (GA event format): `session.created` on connect,
// `session.updated` for `session.update`, `conversation.item.added` for `conversation.item.create`,
// and for `response.create` the event sequence of a spoken answer: `response.created`,
// `response.output_item.added`, `response.output_audio.delta` (base64 PCM),
// `response.output_audio_transcript.delta`, `response.output_audio.done`,
// `response.output_item.done`, then `response.done` with `usage` broken down by modality.
// A response's `metadata` steers it (values are strings, as the API requires):
//   text_in, audio_in, image_in, cached_text, cached_audio, text_out, audio_out  token counts
//   audio_bytes   size of the audio delta (default 3200)
//   hang          "1": never finish the response
//   no_usage      "1": finish without usage
// Every session's handshake (path, headers, offered subprotocols) and client events are recorded.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';

export interface MockRealtimeSession {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly protocols: readonly string[];
  // Client events as received, parsed.
  readonly events: Array<Record<string, unknown>>;
  closed: { code: number; reason: string } | undefined;
}

export interface MockRealtime {
  readonly url: string;
  readonly sessions: MockRealtimeSession[];
  // Handshakes refused (a wrong credential, or a model in refuseModels).
  refused: number;
  close(): Promise<void>;
}

const count = (metadata: Record<string, string>, name: string, fallback: number): number => {
  const value = metadata[name];
  return value === undefined ? fallback : Number(value);
};

export function mockRealtimeUsage(metadata: Record<string, string>) {
  const text = count(metadata, 'text_in', 120);
  const audio = count(metadata, 'audio_in', 300);
  const image = count(metadata, 'image_in', 0);
  const cachedText = count(metadata, 'cached_text', 0);
  const cachedAudio = count(metadata, 'cached_audio', 0);
  const textOut = count(metadata, 'text_out', 40);
  const audioOut = count(metadata, 'audio_out', 200);
  return {
    total_tokens: text + audio + image + textOut + audioOut,
    input_tokens: text + audio + image,
    output_tokens: textOut + audioOut,
    input_token_details: {
      text_tokens: text,
      audio_tokens: audio,
      image_tokens: image,
      cached_tokens: cachedText + cachedAudio,
      cached_tokens_details: { text_tokens: cachedText, audio_tokens: cachedAudio, image_tokens: 0 },
    },
    output_token_details: { text_tokens: textOut, audio_tokens: audioOut },
  };
}

// refuseModels: handshakes for these models are answered 503, as a provider that is down.
export function startMockRealtime(options: { apiKey?: string; refuseModels?: readonly string[] } = {}): Promise<MockRealtime> {
  const expected = `Bearer ${options.apiKey ?? 'sk-upstream-openai'}`;
  const http = createServer((_req, res) => res.writeHead(404).end());
  const sockets = new Set<WebSocket>();
  const mock: MockRealtime = {
    url: '',
    sessions: [],
    refused: 0,
    close: () =>
      new Promise((resolve) => {
        for (const ws of sockets) ws.terminate();
        wss.close();
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    handleProtocols: (protocols) => (protocols.has('realtime') ? 'realtime' : false),
  });
  http.on('upgrade', (req, socket, head) => {
    if (!(req.url ?? '').startsWith('/v1/realtime?') || req.headers.authorization !== expected) {
      mock.refused++;
      socket.end('HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}');
      return;
    }
    if (options.refuseModels?.includes(new URL(req.url ?? '', 'http://mock').searchParams.get('model') ?? '')) {
      mock.refused++;
      socket.end('HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => serve(ws, req.url ?? '', req.headers));
  });

  function serve(ws: WebSocket, path: string, headers: IncomingHttpHeaders): void {
    sockets.add(ws);
    const protocols = String(headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim()).filter(Boolean);
    const session: MockRealtimeSession = { path, headers, protocols, events: [], closed: undefined };
    mock.sessions.push(session);
    let seq = 0;
    const send = (event: Record<string, unknown>) => ws.send(JSON.stringify({ type: event.type, event_id: `event_${++seq}`, ...event }));
    const model = new URL(path, 'http://mock').searchParams.get('model');
    send({ type: 'session.created', session: { type: 'realtime', object: 'realtime.session', id: 'sess_mock', model, output_modalities: ['audio'] } });
    ws.on('close', (code, reason) => {
      sockets.delete(ws);
      session.closed = { code, reason: reason.toString() };
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      let event: Record<string, unknown>;
      try {
        event = JSON.parse(data.toString()) as Record<string, unknown>;
      } catch {
        send({ type: 'error', error: { type: 'invalid_request_error', code: 'invalid_json', message: 'bad json' } });
        return;
      }
      session.events.push(event);
      if (event.type === 'session.update') send({ type: 'session.updated', session: { ...(event.session as object), id: 'sess_mock' } });
      if (event.type === 'conversation.item.create') send({ type: 'conversation.item.added', item: { ...(event.item as object), id: `item_${seq}` } });
      if (event.type === 'response.create') respond(send, (event.response as { metadata?: Record<string, string> } | undefined)?.metadata ?? {}, seq);
    });
  }

  function respond(send: (event: Record<string, unknown>) => void, metadata: Record<string, string>, n: number): void {
    const id = `resp_${n}`;
    const response = { object: 'realtime.response', id, status: 'in_progress', output: [], metadata, usage: null };
    send({ type: 'response.created', response });
    const item = { id: `item_out_${n}`, type: 'message', role: 'assistant', content: [] };
    send({ type: 'response.output_item.added', response_id: id, output_index: 0, item });
    send({ type: 'response.output_audio.delta', response_id: id, item_id: item.id, output_index: 0, content_index: 0, delta: Buffer.alloc(count(metadata, 'audio_bytes', 3200), 7).toString('base64') });
    send({ type: 'response.output_audio_transcript.delta', response_id: id, item_id: item.id, output_index: 0, content_index: 0, delta: 'Hello there.' });
    if (metadata.hang === '1') return;
    send({ type: 'response.output_audio.done', response_id: id, item_id: item.id, output_index: 0, content_index: 0 });
    send({ type: 'response.output_item.done', response_id: id, output_index: 0, item: { ...item, status: 'completed' } });
    send({ type: 'response.done', response: { ...response, status: 'completed', usage: metadata.no_usage === '1' ? null : mockRealtimeUsage(metadata) } });
  }

  return new Promise((resolve, reject) => {
    http.once('error', reject);
    http.listen(0, '127.0.0.1', () => {
      const address = http.address();
      Object.assign(mock, { url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}` });
      resolve(mock);
    });
  });
}
