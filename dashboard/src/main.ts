// The dashboard's entry: which page the address names, signing in and out, and links followed without reloading.
import { SignedOut, signOut, token } from './api.js';
import { button, h, link, replace } from './dom.js';
import { pageOf } from './format.js';
import type { PageContext } from './page.js';
import { renderFunction } from './pages/function.js';
import { renderFunctions } from './pages/functions.js';
import { renderSignIn } from './pages/sign-in.js';

const main = document.getElementById('main') as HTMLElement;
const nav = document.getElementById('nav') as HTMLElement;
let leave = new AbortController();

function render(message?: string): void {
  leave.abort();
  leave = new AbortController();
  window.scrollTo(0, 0);
  if (!token()) {
    replace(nav);
    document.title = 'Sign in · Lambda';
    renderSignIn({ main, refresh: () => render() }, message);
    return;
  }
  replace(
    nav,
    link('/dashboard/', 'Functions'),
    button('Sign out', () => {
      signOut();
      render('Signed out.');
    }, { attrs: { id: 'sign-out' } }),
  );
  const ctx: PageContext = {
    main,
    signal: leave.signal,
    signedOut: (error: SignedOut) => render(error.message),
    navigate,
    refresh: () => render(),
  };
  const page = pageOf(location.pathname);
  if (page.page === 'functions') {
    document.title = 'Functions · Lambda';
    renderFunctions(ctx);
  } else if (page.page === 'function') {
    document.title = `${page.name} · Lambda`;
    renderFunction(ctx, page.name);
  } else {
    document.title = 'Not found · Lambda';
    replace(main, h('h1', {}, 'Not found'), h('p', {}, 'No such page. ', link('/dashboard/', 'See the functions.')));
  }
}

function navigate(path: string): void {
  history.pushState(null, '', path);
  render();
}

// Links to the dashboard's own pages change the address and draw the page; others (a function's URL) open as usual.
document.addEventListener('click', (event) => {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const anchor = (event.target as Element | null)?.closest?.('a[data-route]');
  if (!(anchor instanceof HTMLAnchorElement)) return;
  event.preventDefault();
  navigate(anchor.pathname + anchor.search);
});
window.addEventListener('popstate', () => render());
render();
