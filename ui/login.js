// The login page (servers started with --api-key): the key is POSTed once, the server answers with an
// HttpOnly session cookie; the key is never put in a URL or kept by the page.
import { render } from 'preact';
import { useState } from 'preact/hooks';
import { api, html } from './lib.js';

function Login() {
  const [error, setError] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    const input = e.target.elements.key;
    try {
      await api('/ui/api/login', { key: input.value });
      input.value = '';
      location.href = '/';
    } catch (err) {
      setError(err.message);
    }
  };
  return html`<main class="login">
    <h1>glmkit</h1>
    <form onSubmit=${submit}>
      <label>API key <input name="key" type="password" autocomplete="current-password" autofocus /></label>
      <button type="submit">Log in</button>
    </form>
    ${error ? html`<p class="error" role="alert">${error}</p>` : null}
  </main>`;
}

render(html`<${Login} />`, document.getElementById('app'));
