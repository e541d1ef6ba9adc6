// The sign-in form: an API token, checked against the API before it is kept for this tab's session.
import { getJson, signIn, signOut, SignedOut } from '../api.js';
import { h, replace } from '../dom.js';
import { messageOf, type PageContext } from '../page.js';

export function renderSignIn(ctx: Pick<PageContext, 'main' | 'refresh'>, message?: string): void {
  const input = h('input', { attrs: { type: 'password', name: 'token', id: 'token', autocomplete: 'off', spellcheck: 'false' } });
  const note = h('p', { class: message ? 'problem' : 'muted', attrs: { role: 'alert', id: 'sign-in-message' } }, message ?? 'The token stays in this tab only (session storage) and is sent with each API call.');
  const submit = h('button', { attrs: { type: 'submit' } }, 'Sign in');
  const form = h(
    'form',
    {
      class: 'card sign-in',
      on: {
        submit: (event) => {
          event.preventDefault();
          const key = input.value.trim();
          if (!key) {
            note.className = 'problem';
            note.textContent = 'Paste an API token first.';
            input.focus();
            return;
          }
          submit.disabled = true;
          signIn(key);
          getJson('/api/v1/functions')
            .then(() => ctx.refresh())
            .catch((error: unknown) => {
              signOut();
              submit.disabled = false;
              note.className = 'problem';
              note.textContent = error instanceof SignedOut ? 'That API token was refused. Check it and try again.' : messageOf(error);
            });
        },
      },
    },
    h('h1', {}, 'Sign in'),
    h('label', { attrs: { for: 'token' } }, 'API token'),
    input,
    submit,
    note,
    h('p', { class: 'muted', attrs: { id: 'sign-in-hint' } }, 'Use the admin key ', h('code', {}, 'npm start'), ' printed when it first ran, or an admin token made with ', h('code', {}, 'lambda tokens create'), '.'),
  );
  replace(ctx.main, form);
  input.focus();
}
