import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';

/** Every console URL lives under this path; the gateway answers index.html for any of them. */
export const basePath = '/console';

type Listener = () => void;
const listeners = new Set<Listener>();

function notify(): void {
  for (const listener of listeners) listener();
}

if (typeof window !== 'undefined') window.addEventListener('popstate', notify);

export interface Location {
  /** The path below `/console`, always starting with `/` (`/requests/chatcmpl-…`). */
  path: string;
  query: URLSearchParams;
}

function currentLocation(): Location {
  const full = window.location.pathname;
  const rest = full.startsWith(basePath) ? full.slice(basePath.length) : full;
  const path = rest.replace(/\/+$/, '') || '/';
  return { path, query: new URLSearchParams(window.location.search) };
}

export function href(path: string): string {
  return `${basePath}${path}`;
}

export function navigate(path: string, options: { replace?: boolean } = {}): void {
  const target = href(path);
  if (options.replace) window.history.replaceState(null, '', target);
  else window.history.pushState(null, '', target);
  notify();
}

export function useLocation(): Location {
  const [location, setLocation] = useState(currentLocation);
  useEffect(() => {
    const listener = () => setLocation(currentLocation());
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
    };
  }, []);
  return location;
}

/** Matches `/requests/:id`-style patterns; parameters are percent-decoded. */
export function match(pattern: string, path: string): Record<string, string> | undefined {
  const patternParts = pattern.split('/');
  const pathParts = path.split('/');
  if (patternParts.length !== pathParts.length) return undefined;
  const parameters: Record<string, string> = {};
  for (let index = 0; index < patternParts.length; index++) {
    const expected = patternParts[index] as string;
    const actual = pathParts[index] as string;
    if (expected.startsWith(':')) {
      if (actual === '') return undefined;
      try {
        parameters[expected.slice(1)] = decodeURIComponent(actual);
      } catch {
        return undefined;
      }
    } else if (expected !== actual) return undefined;
  }
  return parameters;
}

interface LinkProps {
  to: string;
  children: ComponentChildren;
  class?: string;
  'aria-current'?: 'page' | undefined;
  'aria-label'?: string;
}

/** A real link (opens in a new tab, focusable, announced as a link) that routes in place on a plain click. */
export function Link({ to, children, ...rest }: LinkProps) {
  const onClick = (event: MouseEvent) => {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(to);
  };
  return (
    <a {...rest} href={href(to)} onClick={onClick}>
      {children}
    </a>
  );
}
