// OpenAI's error shape: {"error":{"message","type","param","code"}}.
import type { ErrorDialect } from '../provider.js';

export const errors: ErrorDialect = {
  render: (e) => ({ error: { message: e.message, type: e.type, param: e.param, code: e.code } }),
};
