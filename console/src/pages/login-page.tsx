import { useState } from 'preact/hooks';
import { identify } from '../api';
import { ErrorNotice } from '../components/feedback';
import { navigate } from '../router';
import { type CredentialKind, setCredential } from '../session';
import { useAction } from '../use-action';
import { useSession } from '../use-session';

/**
 * Asks for an organisation key or the admin token, checks which one it is against the gateway, and
 * keeps it in sessionStorage. The form posts nowhere: the token never reaches a URL.
 */
export function SignInForm({ expected }: { expected?: CredentialKind }) {
  const [token, setToken] = useState('');
  const action = useAction();
  const [mismatch, setMismatch] = useState<Error | undefined>(undefined);

  const onSubmit = async (event: Event) => {
    event.preventDefault();
    setMismatch(undefined);
    const value = token.trim();
    let kind: CredentialKind | undefined;
    const isDone = await action.run(async () => {
      kind = await identify(value);
    });
    if (!isDone || kind === undefined) return;
    if (expected !== undefined && kind !== expected) {
      setMismatch(
        new Error(
          kind === 'admin'
            ? 'That is the admin token; this page needs an organisation key.'
            : 'That is an organisation key; this page needs the admin token.',
        ),
      );
      return;
    }
    setToken('');
    setCredential(kind, value);
    if (expected === undefined) navigate(kind === 'key' ? '/requests' : '/keys');
  };

  const label =
    expected === 'key'
      ? 'Organisation key'
      : expected === 'admin'
        ? 'Admin token'
        : 'Organisation key or admin token';
  return (
    <form class="card sign-in" method="post" action="#" onSubmit={onSubmit}>
      <label for="sign-in-token">{label}</label>
      <input
        id="sign-in-token"
        name="token"
        type="password"
        autoComplete="off"
        spellcheck={false}
        required
        value={token}
        onInput={(event) => setToken(event.currentTarget.value)}
      />
      <p class="hint">Kept in this browser tab only (sessionStorage) and sent only to this gateway.</p>
      <ErrorNotice error={action.error ?? mismatch} title="Not signed in" />
      <button type="submit" class="primary" disabled={action.isPending}>
        {action.isPending ? 'Checking…' : 'Sign in'}
      </button>
    </form>
  );
}

export function LoginPage() {
  const session = useSession();
  return (
    <section class="narrow">
      <h1 tabIndex={-1}>Sign in</h1>
      <p>
        Use an <strong>organisation key</strong> (<code>mk_live_…</code>) to see that project’s requests,
        traces, containers and usage and to use the playground, or the <strong>admin token</strong> to manage
        organisations and keys. You can hold both in one session.
      </p>
      {session.hasAdmin || session.hasKey ? (
        <p class="notice">
          Signed in with {session.hasAdmin ? 'the admin token' : ''}
          {session.hasAdmin && session.hasKey ? ' and ' : ''}
          {session.hasKey ? `key ${session.keyLabel}` : ''}. Signing in again replaces that credential.
        </p>
      ) : null}
      <SignInForm />
    </section>
  );
}
