// The smallest metered request, answered by status only: what multi-replica tests poll with.
import { request } from 'undici';

export const smallChat = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] };

export async function chatStatus(baseUrl: string, key: string, body: object = smallChat): Promise<number> {
  const res = await request(`${baseUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  await res.body.dump();
  return res.statusCode;
}
