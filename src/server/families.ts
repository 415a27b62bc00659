// Endpoint families: the unit a key's `scopes` name. Every route row (built-in or an allow-listed
// pass-through route) belongs to exactly one; the admin key schema validates scopes against this list.
export const endpointFamilies = [
  'chat',
  'completions',
  'embeddings',
  'responses',
  'messages',
  'generate_content',
  'converse',
  'models',
  'token_count',
  'usage',
  'files',
  'uploads',
  'batches',
  'images',
  'audio',
  'realtime',
  'fine_tuning',
  'vector_stores',
  'moderations',
] as const;

export type EndpointFamily = (typeof endpointFamilies)[number];
