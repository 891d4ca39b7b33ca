import { html } from './lib.js';

export function RunsView() {
  return html`<p>Runs: coming.</p>`;
}
