import { html } from './lib.js';

export function ChatView() {
  return html`<p>Chat: coming.</p>`;
}
