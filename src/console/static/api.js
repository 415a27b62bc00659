// Every call the console makes: same origin, the session cookie, and the session's token in
// x-csrf-token. Figures come from the gateway's APIs as they are; nothing here computes usage.
let csrfToken = '';

export const setCsrfToken = (token) => { csrfToken = token; };

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code ?? 'http_error';
  }
}

async function call(method, path, body, accept = 'json') {
  const headers = { 'x-csrf-token': csrfToken };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
  if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => null));
  return accept === 'blob' ? res.blob() : res.json();
}

const query = (params) => {
  const entries = Object.entries(params ?? {}).filter(([, v]) => v !== undefined && v !== null && v !== '');
  return entries.length ? `?${new URLSearchParams(entries)}` : '';
};

export const admin = {
  get: (path, params) => call('GET', `/admin/v1${path}${query(params)}`),
  post: (path, body = {}) => call('POST', `/admin/v1${path}`, body),
  put: (path, body) => call('PUT', `/admin/v1${path}`, body),
  patch: (path, body) => call('PATCH', `/admin/v1${path}`, body),
  delete: (path) => call('DELETE', `/admin/v1${path}`),
  blob: (path, params) => call('GET', `/admin/v1${path}${query(params)}`, undefined, 'blob'),
};

export const self = {
  usage: (params) => call('GET', `/dashboard/api/usage${query(params)}`),
  history: (params) => call('GET', `/dashboard/api/usage/history${query(params)}`),
  alertPreferences: () => call('GET', '/dashboard/api/alerts/preferences'),
  setAlertPreferences: (body) => call('PUT', '/dashboard/api/alerts/preferences', body),
};

export const session = {
  current: () => call('GET', '/dashboard/session'),
  signIn: (credential) => call('POST', '/dashboard/session', { credential }),
  signOut: () => call('DELETE', '/dashboard/session'),
};

export async function health() {
  const res = await fetch('/ready', { credentials: 'omit' });
  return res.json();
}
