// Tool calls for the mock upstream's Anthropic Messages answers: a request that declares tools and
// whose last turn is not a tool result is answered with a call of the first tool, input
// {"city":"Paris"}, whole or as input_json_delta fragments.
type Json = Record<string, unknown>;

const obj = (value: unknown): Json | undefined => (value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined);

export function anthropicToolToCall(body: Json): string | undefined {
  const messages = Array.isArray(body.messages) ? body.messages : [];
  const last = obj(messages.at(-1))?.content;
  if (Array.isArray(last) && last.some((block) => obj(block)?.type === 'tool_result')) return undefined;
  const name = Array.isArray(body.tools) ? obj(body.tools[0])?.name : undefined;
  return typeof name === 'string' ? name : undefined;
}

export const toolUseBlock = (name: string) => ({ type: 'tool_use', id: 'toolu_mock', name, input: { city: 'Paris' } });

// The stream events of one tool_use block at `index` (event name, data), arguments in two fragments.
export const toolUseEvents = (name: string, index: number): Array<[string, Json]> => [
  ['content_block_start', { type: 'content_block_start', index, content_block: { ...toolUseBlock(name), input: {} } }],
  ['content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: '{"city": ' } }],
  ['content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: '"Paris"}' } }],
  ['content_block_stop', { type: 'content_block_stop', index }],
];
