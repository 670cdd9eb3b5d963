// api.js: the console's only way to the server, /api/v1.
//
// Tokens: the access token lives in this module's memory only (gone on
// reload, never readable by another page); the refresh token is kept in
// sessionStorage, so a reload in the same tab stays logged in and closing
// the tab ends the session. Neither ever goes into a URL or localStorage.
// A strict CSP (no inline or third-party script) is what keeps other code
// from reading sessionStorage.

const RT_KEY = 'kehou.refresh';
const BASE = '/api/v1';

let access = null; // {token, exp} with exp in ms since the epoch
let refreshing = null; // the refresh in flight, shared by every caller
let onLogout = () => {};

/** ApiError is an answer of the API that is not a success: the API's own
 * code and message (shown to people as they are), plus field and row
 * errors when it sent them. */
export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `请求失败（HTTP ${status}）`);
    this.status = status;
    this.code = (body && body.code) || 'http_' + status;
    this.fields = (body && body.fields) || null;
    this.errors = (body && body.errors) || null;
    this.requestId = (body && body.request_id) || '';
    this.body = body || null;
  }
}

/** setLogoutHandler names what to do when the session cannot go on. */
export function setLogoutHandler(f) { onLogout = f; }

/** hasSession tells whether this tab holds a refresh token. */
export function hasSession() { return !!sessionStorage.getItem(RT_KEY); }

function keep(t) {
  access = { token: t.access_token, exp: Date.now() + (t.expires_in || 60) * 1000 };
  sessionStorage.setItem(RT_KEY, t.refresh_token);
}

/** logout forgets both tokens. */
export function logout() {
  access = null;
  sessionStorage.removeItem(RT_KEY);
}

async function parse(res) {
  const type = res.headers.get('Content-Type') || '';
  if (type.includes('application/json')) return res.json();
  return null;
}

/** login exchanges a staff username and password for tokens. */
export async function login(username, password) {
  const res = await fetch(BASE + '/auth/login', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password }), credentials: 'omit',
  });
  const body = await parse(res);
  if (!res.ok) throw new ApiError(res.status, body);
  keep(body);
}

/** setPassword sets a new account's own password with the change token its
 * first login answered (403 password_change_required), and signs in. */
export async function setPassword(changeToken, newPassword) {
  const res = await fetch(BASE + '/auth/password', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ change_token: changeToken, new_password: newPassword }), credentials: 'omit',
  });
  const body = await parse(res);
  if (!res.ok) throw new ApiError(res.status, body);
  keep(body);
}

// refresh spends the refresh token for a new pair; concurrent callers share
// one request (the old refresh token works once).
function refresh() {
  if (refreshing) return refreshing;
  const rt = sessionStorage.getItem(RT_KEY);
  if (!rt) return Promise.reject(new ApiError(401, { code: 'no_session', message: '请先登录' }));
  refreshing = (async () => {
    try {
      const res = await fetch(BASE + '/auth/refresh', {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ refresh_token: rt }), credentials: 'omit',
      });
      const body = await parse(res);
      if (!res.ok) {
        if (res.status === 401 || res.status === 403) { logout(); onLogout(); }
        throw new ApiError(res.status, body);
      }
      keep(body);
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

async function token() {
  // Renewed a little before it expires, so a request never carries a token
  // that dies on the way.
  if (!access || Date.now() > access.exp - 15000) await refresh();
  return access.token;
}

function url(path, query) {
  const u = new URL(BASE + path, location.origin);
  if (query) {
    for (const [k, v] of Object.entries(query)) {
      if (v !== undefined && v !== null && v !== '') u.searchParams.set(k, v);
    }
  }
  return u.pathname + u.search;
}

/** request calls the API: opts.query, opts.body (JSON) or opts.raw (a Blob
 * or FormData sent as is, with opts.type), opts.headers (more request
 * headers, such as an Idempotency-Key), opts.blob to get a Blob back.
 * An expired token is refreshed and the request sent once more. */
export async function request(method, path, opts = {}) {
  for (let attempt = 0; ; attempt++) {
    const headers = { ...opts.headers, Authorization: 'Bearer ' + await token() };
    let body;
    if (opts.raw !== undefined) {
      body = opts.raw;
      if (opts.type) headers['Content-Type'] = opts.type;
    } else if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['Content-Type'] = 'application/json';
    }
    const res = await fetch(url(path, opts.query), { method, headers, body, credentials: 'omit' });
    if (res.status === 401 && attempt === 0) {
      const b = await parse(res);
      if (b && (b.code === 'token_expired' || b.code === 'token_revoked' || b.code === 'invalid_token' || b.code === 'unauthorized')) {
        access = null;
        continue;
      }
      throw new ApiError(res.status, b);
    }
    if (!res.ok) throw new ApiError(res.status, await parse(res));
    if (opts.blob) return { blob: await res.blob(), name: filename(res) };
    if (res.status === 204) return null;
    return parse(res);
  }
}

// filename reads the export's name, preferring the UTF-8 filename* (the
// Chinese name) over the ASCII fallback.
function filename(res) {
  const cd = res.headers.get('Content-Disposition') || '';
  const star = /filename\*=UTF-8''([^;]+)/i.exec(cd);
  if (star) {
    try { return decodeURIComponent(star[1]); } catch (_) { /* fall back to the ASCII name */ }
  }
  const m = /filename="?([^";]+)"?/.exec(cd);
  return m ? m[1] : 'export';
}

export const get = (path, query) => request('GET', path, { query });
export const post = (path, body) => request('POST', path, { body });
export const patch = (path, body) => request('PATCH', path, { body });
export const put = (path, body) => request('PUT', path, { body });
export const del = (path) => request('DELETE', path);

/** all reads every page of a list (lists come 100 items a page unless
 * limit asks for more, at most 500), following next_cursor: the first
 * page's answer with every item in items. For the screens that show a
 * whole list (a term's offerings, a region's schools). */
export async function all(path, query = {}) {
  const first = await get(path, { ...query, limit: 500 });
  for (let next = first.next_cursor; next;) {
    const more = await get(path, { ...query, limit: 500, cursor: next });
    first.items.push(...more.items);
    next = more.next_cursor;
  }
  first.next_cursor = '';
  return first;
}

/** download fetches a file the API builds (an export) with the bearer
 * token and hands it to the browser as a download. */
export async function download(path, query) {
  const { blob, name } = await request('GET', path, { query, blob: true });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.appendChild(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}
