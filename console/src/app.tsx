import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { ContainerPage } from './pages/container-page';
import { ContainersPage } from './pages/containers-page';
import { KeysPage } from './pages/keys-page';
import { LoginPage, SignInForm } from './pages/login-page';
import { OrganizationPage } from './pages/organization-page';
import { OrganizationsPage } from './pages/organizations-page';
import { PlaygroundPage } from './pages/playground-page';
import { RequestPage } from './pages/request-page';
import { RequestsPage } from './pages/requests-page';
import { TracePage } from './pages/trace-page';
import { TracesPage } from './pages/traces-page';
import { UsagePage } from './pages/usage-page';
import { Link, type Location, match, navigate, useLocation } from './router';
import { type CredentialKind, type SessionState, signOut } from './session';
import { useSession } from './use-session';

interface Section {
  path: string;
  label: string;
  needs: CredentialKind;
}

const sections: Section[] = [
  { path: '/requests', label: 'Requests', needs: 'key' },
  { path: '/traces', label: 'Traces', needs: 'key' },
  { path: '/containers', label: 'Containers', needs: 'key' },
  { path: '/usage', label: 'Usage', needs: 'key' },
  { path: '/playground', label: 'Playground', needs: 'key' },
  { path: '/keys', label: 'Keys', needs: 'admin' },
  { path: '/organizations', label: 'Organisations', needs: 'admin' },
];

interface Route {
  pattern: string;
  needs?: CredentialKind;
  title: string;
  render(parameters: Record<string, string>, location: Location): ComponentChildren;
}

const routes: Route[] = [
  { pattern: '/login', title: 'Sign in', render: () => <LoginPage /> },
  {
    pattern: '/requests',
    needs: 'key',
    title: 'Requests',
    render: (_p, l) => <RequestsPage query={l.query} />,
  },
  {
    pattern: '/requests/:id',
    needs: 'key',
    title: 'Request',
    render: (p) => <RequestPage id={p.id as string} />,
  },
  { pattern: '/traces', needs: 'key', title: 'Traces', render: (_p, l) => <TracesPage query={l.query} /> },
  { pattern: '/traces/:id', needs: 'key', title: 'Trace', render: (p) => <TracePage id={p.id as string} /> },
  { pattern: '/containers', needs: 'key', title: 'Containers', render: () => <ContainersPage /> },
  {
    pattern: '/containers/:label',
    needs: 'key',
    title: 'Container',
    render: (p) => <ContainerPage label={p.label as string} />,
  },
  { pattern: '/usage', needs: 'key', title: 'Usage', render: (_p, l) => <UsagePage query={l.query} /> },
  { pattern: '/playground', needs: 'key', title: 'Playground', render: () => <PlaygroundPage /> },
  { pattern: '/keys', needs: 'admin', title: 'Keys', render: (_p, l) => <KeysPage query={l.query} /> },
  { pattern: '/organizations', needs: 'admin', title: 'Organisations', render: () => <OrganizationsPage /> },
  {
    pattern: '/organizations/:org',
    needs: 'admin',
    title: 'Organisation',
    render: (p) => <OrganizationPage org={p.org as string} />,
  },
];

function homeOf(session: SessionState): string {
  if (session.hasKey) return '/requests';
  if (session.hasAdmin) return '/keys';
  return '/login';
}

function NeedsCredential({ kind }: { kind: CredentialKind }) {
  return (
    <section>
      <h1 tabIndex={-1}>{kind === 'key' ? 'Organisation key needed' : 'Admin token needed'}</h1>
      <p>
        {kind === 'key'
          ? 'This page shows one project’s requests, containers and usage, so it needs an organisation key (mk_live_…). An admin can create one under Keys.'
          : 'Keys and organisations are managed with the gateway’s admin token (MANIAC_ADMIN_TOKEN).'}
      </p>
      <SignInForm expected={kind} />
    </section>
  );
}

function NotFound() {
  return (
    <section>
      <h1 tabIndex={-1}>Page not found</h1>
      <p>
        <Link to="/">Go to the console’s first page</Link>
      </p>
    </section>
  );
}

export function App() {
  const session = useSession();
  const location = useLocation();
  const isSignedIn = session.hasAdmin || session.hasKey;
  const previousPath = useRef<string | undefined>(undefined);

  const found = routes
    .map((route) => ({ route, parameters: match(route.pattern, location.path) }))
    .find((candidate) => candidate.parameters !== undefined);

  useEffect(() => {
    if (location.path === '/') navigate(homeOf(session), { replace: true });
  }, [location.path, session]);

  useEffect(() => {
    document.title = `${found?.route.title ?? 'Not found'} · Maniac Gateway console`;
    // A route change moves focus to the new page's heading, as a page load would for a screen reader;
    // the first page and the redirect from `/` keep the browser's own start of the tab order.
    const previous = previousPath.current;
    previousPath.current = location.path;
    if (previous !== undefined && previous !== '/') document.querySelector<HTMLElement>('main h1')?.focus();
  }, [location.path]);

  let page: ComponentChildren;
  if (location.path === '/') page = null;
  else if (!found) page = <NotFound />;
  else {
    const needs = found.route.needs;
    const isAllowed = needs === undefined || (needs === 'key' ? session.hasKey : session.hasAdmin);
    page = isAllowed ? (
      found.route.render(found.parameters as Record<string, string>, location)
    ) : (
      <NeedsCredential kind={needs as CredentialKind} />
    );
  }

  return (
    <>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <Link to="/" class="brand">
          Maniac Gateway
        </Link>
        {isSignedIn ? (
          <nav aria-label="Console">
            <ul>
              {sections
                .filter((section) => (section.needs === 'key' ? session.hasKey : session.hasAdmin))
                .map((section) => {
                  const isCurrent =
                    location.path === section.path || location.path.startsWith(`${section.path}/`);
                  return (
                    <li key={section.path}>
                      <Link to={section.path} aria-current={isCurrent ? 'page' : undefined}>
                        {section.label}
                      </Link>
                    </li>
                  );
                })}
            </ul>
          </nav>
        ) : null}
        {isSignedIn ? (
          <div class="session">
            <span class="muted">
              {[
                session.hasAdmin ? 'Admin' : undefined,
                session.keyLabel ? `Key ${session.keyLabel}` : undefined,
              ]
                .filter(Boolean)
                .join(' · ')}
            </span>
            {!session.hasAdmin || !session.hasKey ? <Link to="/login">Add sign-in</Link> : null}
            <button
              type="button"
              onClick={() => {
                signOut();
                navigate('/login');
              }}
            >
              Sign out
            </button>
          </div>
        ) : null}
      </header>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
    </>
  );
}
