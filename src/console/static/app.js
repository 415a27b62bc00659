// The console shell: restores the session, signs in, and routes #/page to a page by what the
// signed-in credential may see. Admin credentials get the admin pages; a Tollgate key gets the
// self-service view. The admin API decides what each role reads: the menu only hides dead ends.
import { html, render, useEffect, useState } from './vendor/preact-htm.js';
import { admin, session, setCsrfToken } from './api.js';
import { SignIn } from './pages/sign-in.js';
import { Overview } from './pages/overview.js';
import { SelfService } from './pages/self-service.js';
import { Keys } from './pages/keys.js';
import { Budgets } from './pages/budgets.js';
import { Alerts } from './pages/alerts.js';
import { QuotaRequests } from './pages/quota.js';
import { Reports } from './pages/reports.js';
import { People } from './pages/people.js';
import { Audit } from './pages/audit.js';

const adminPages = [
  { path: 'overview', label: 'Overview', page: Overview },
  { path: 'people', label: 'Teams & users', page: People },
  { path: 'keys', label: 'Keys', page: Keys },
  { path: 'budgets', label: 'Budgets', page: Budgets },
  { path: 'alerts', label: 'Alerts', page: Alerts },
  { path: 'quota', label: 'Quota requests', page: QuotaRequests },
  { path: 'reports', label: 'Reports', page: Reports },
  { path: 'audit', label: 'Audit log', page: Audit, roles: ['admin', 'analyst'] },
];
const selfPages = [{ path: 'me', label: 'My usage', page: SelfService }];

const pagesFor = (who) => (who.kind === 'api_key' ? selfPages : adminPages.filter((p) => !p.roles || p.roles.includes(who.role)));

function useHash() {
  const [hash, setHash] = useState(location.hash.replace(/^#\/?/, ''));
  useEffect(() => {
    const onChange = () => setHash(location.hash.replace(/^#\/?/, ''));
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return hash;
}

function OrgPicker({ orgs, orgId, onChange }) {
  if (!orgs || orgs.length < 2) return null;
  return html`<label class="org-picker">Org <select data-testid="org-picker" value=${orgId} onChange=${(e) => onChange(e.target.value)}>
    ${orgs.map((o) => html`<option value=${o.id}>${o.name}</option>`)}
  </select></label>`;
}

function Shell({ who, onSignOut }) {
  const hash = useHash();
  const pages = pagesFor(who);
  const [name, ...rest] = hash.split('/');
  const current = pages.find((p) => p.path === name) ?? pages[0];
  const [orgs, setOrgs] = useState(null);
  const [orgId, setOrgId] = useState(who.orgId);
  useEffect(() => {
    if (who.kind === 'api_key') return;
    admin.get('/orgs').then((r) => {
      setOrgs(r.data);
      if (!orgId && r.data.length) setOrgId(r.data[0].id);
    }).catch(() => setOrgs([]));
  }, []);
  const Page = current.page;
  const ready = who.kind === 'api_key' || orgId;
  return html`
    <div class="shell">
      <nav class="side">
        <div class="brand">Tollgate</div>
        ${pages.map((p) => html`<a href=${`#/${p.path}`} class=${p === current ? 'active' : ''} data-testid=${`nav-${p.path}`}>${p.label}</a>`)}
      </nav>
      <main>
        <header class="top">
          <h1>${current.label}</h1>
          <${OrgPicker} orgs=${who.orgId ? null : orgs} orgId=${orgId} onChange=${setOrgId} />
          <span class="who" data-testid="who">${who.kind === 'api_key' ? `user ${who.userId}` : `${who.role}${who.userId ? ` · ${who.userId}` : ''}`}</span>
          <button class="link" data-testid="sign-out" onClick=${onSignOut}>Sign out</button>
        </header>
        ${ready ? html`<${Page} who=${who} orgId=${orgId} params=${rest} />` : html`<p class="muted">${orgs && orgs.length === 0 ? 'No org is visible to this credential.' : 'Loading…'}</p>`}
      </main>
    </div>`;
}

function App() {
  const [who, setWho] = useState(undefined);
  useEffect(() => {
    session.current().then((w) => { setCsrfToken(w.csrfToken); setWho(w); }).catch(() => setWho(null));
  }, []);
  const signedIn = (w) => { setCsrfToken(w.csrfToken); setWho(w); location.hash = `#/${pagesFor(w)[0].path}`; };
  const signOut = async () => {
    await session.signOut().catch(() => {});
    setCsrfToken('');
    setWho(null);
  };
  if (who === undefined) return html`<p class="muted center">Loading…</p>`;
  return who ? html`<${Shell} who=${who} onSignOut=${signOut} />` : html`<${SignIn} onSignedIn=${signedIn} />`;
}

render(html`<${App} />`, document.getElementById('app'));
