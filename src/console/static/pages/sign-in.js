// Sign-in with one pasted credential: an admin key (tga-…), an admin JWT, or a Tollgate key (tg-…)
// for the self-service view, or single sign-on when the gateway has console.oidc. The gateway
// tells them apart and sets an HttpOnly session cookie.
import { html, useEffect, useState } from '../vendor/preact-htm.js';
import { session } from '../api.js';
import { ErrorLine } from '../components.js';

export function SignIn({ onSignedIn }) {
  const [credential, setCredential] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [sso, setSso] = useState(false);
  useEffect(() => {
    fetch('/dashboard/config').then((r) => r.json()).then((c) => setSso(c.oidc)).catch(() => {});
  }, []);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onSignedIn(await session.signIn(credential));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`
    <form class="sign-in card" onSubmit=${submit} data-testid="sign-in">
      <h1>Tollgate console</h1>
      <p class="muted">Paste an admin key, an admin JWT, or your own Tollgate API key.</p>
      <input type="password" autocomplete="off" data-testid="credential" placeholder="tga-…, eyJ… or tg-…" value=${credential} onInput=${(e) => setCredential(e.target.value)} />
      <button type="submit" disabled=${busy || !credential} data-testid="sign-in-submit">Sign in</button>
      <${ErrorLine} error=${error} />
      ${sso ? html`<p class="muted">or <a href="/dashboard/oidc/login" data-testid="sso">sign in with single sign-on</a></p>` : null}
    </form>`;
}
