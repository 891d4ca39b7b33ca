import { html } from './lib.js';

export function LabelView() {
  return html`<p>Label: coming.</p>`;
}
