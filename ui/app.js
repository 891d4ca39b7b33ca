// The UI shell: one page with a tab per view (Chat, Label, Runs), chosen by the URL hash.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, html } from './lib.js';
import { ChatView } from './chat.js';
import { LabelView } from './label.js';
import { RunsView } from './runs.js';

const VIEWS = [
  { id: 'chat', title: 'Chat', needs: (c) => c.models.length > 0, view: ChatView },
  { id: 'label', title: 'Compare & label', needs: (c) => c.labels, view: LabelView },
  { id: 'runs', title: 'Runs', needs: (c) => c.runs, view: RunsView },
];

function route() {
  const [id, ...rest] = location.hash.replace(/^#\/?/, '').split('/');
  return { id, rest: rest.map(decodeURIComponent) };
}

function App() {
  const [config, setConfig] = useState(null);
  const [error, setError] = useState(null);
  const [r, setRoute] = useState(route());
  useEffect(() => {
    api('/ui/api/config').then(setConfig, (e) => setError(e.message));
    const on = () => setRoute(route());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  if (error) return html`<main class="error">${error}</main>`;
  if (!config) return html`<main>loading…</main>`;
  const views = VIEWS.filter((v) => v.needs(config));
  const current = views.find((v) => v.id === r.id) ?? views[0];
  const logout = async () => {
    await api('/ui/api/logout', {});
    location.href = '/login';
  };
  return html`
    <header>
      <span class="brand">glmkit</span>
      <nav>${views.map((v) => html`<a href=${`#/${v.id}`} class=${v === current ? 'active' : ''} id=${`tab-${v.id}`}>${v.title}</a>`)}</nav>
      <span class="models">${config.models.join(', ')}</span>
      ${config.key_required ? html`<button class="link" onClick=${logout}>log out</button>` : null}
    </header>
    <main id=${`view-${current?.id ?? 'none'}`}>
      ${current ? html`<${current.view} config=${config} args=${r.rest} />` : html`<p>Nothing to show: start with --model, --runs or --labels.</p>`}
    </main>`;
}

render(html`<${App} />`, document.getElementById('app'));
