// Building the page's DOM from elements and text nodes only: nothing here ever parses a string as HTML.

type Child = Node | string | number | null | undefined | false;

export interface Props {
  class?: string;
  /** Plain attributes; names starting with "on" are refused (handlers go through `on`). */
  attrs?: Record<string, string>;
  on?: Partial<{ [K in keyof HTMLElementEventMap]: (event: HTMLElementEventMap[K]) => void }>;
  /** Text of the element (set as textContent). */
  text?: string;
}

/** `h('td', { class: 'num' }, 'text', child)`: strings become text nodes, whatever they contain. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (props.class) element.className = props.class;
  for (const [name, value] of Object.entries(props.attrs ?? {})) {
    if (/^on/i.test(name) || name.toLowerCase() === 'style') throw new Error(`refused attribute ${name}`);
    element.setAttribute(name, value);
  }
  for (const [type, listener] of Object.entries(props.on ?? {})) element.addEventListener(type, listener as EventListener);
  if (props.text !== undefined) element.textContent = props.text;
  append(element, ...children);
  return element;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
}

/** Replaces everything inside `parent`. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, ...children);
}

/** A link to one of the dashboard's own pages, followed without reloading. */
export function link(href: string, text: string, props: Props = {}): HTMLAnchorElement {
  return h('a', { ...props, attrs: { ...props.attrs, href, 'data-route': '' } }, text);
}

/** A button; `action` runs on click. */
export function button(text: string, action: () => void, props: Props = {}): HTMLButtonElement {
  return h('button', { ...props, attrs: { type: 'button', ...props.attrs }, on: { click: () => action() } }, text);
}

export function section(title: string, ...children: Child[]): HTMLElement {
  return h('section', { class: 'card' }, h('h2', {}, title), ...children);
}

/** A table with a header row; each row is a list of cells (strings or nodes). */
export function table(head: string[], rows: Child[][], props: Props = {}): HTMLTableElement {
  return h(
    'table',
    props,
    h('thead', {}, h('tr', {}, ...head.map((cell) => h('th', {}, cell)))),
    h('tbody', {}, ...rows.map((row) => h('tr', {}, ...row.map((cell) => h('td', {}, cell))))),
  );
}

/** A line of text saying something failed, for a part of a page that could not load. */
export function problem(message: string): HTMLElement {
  return h('p', { class: 'problem', attrs: { role: 'alert' } }, message);
}

/** A link out of the dashboard (a function's URL): only http(s) becomes a link, anything else stays text. */
export function externalLink(url: string): HTMLElement {
  if (!/^https?:\/\//i.test(url)) return h('span', {}, url);
  return h('a', { attrs: { href: url, rel: 'noopener noreferrer', target: '_blank' } }, url);
}
