/**
 * The console's credentials, kept in sessionStorage only: gone when the tab closes, never in a URL,
 * a cookie or a log. The admin token drives the `/admin/v1` pages; an organisation key drives the
 * project pages under `/v1`. A session may hold both.
 */
export type CredentialKind = 'admin' | 'key';

const storageKeys: Record<CredentialKind, string> = {
  admin: 'maniac-console.admin-token',
  key: 'maniac-console.org-key',
};

type Listener = () => void;
const listeners = new Set<Listener>();

function storage(): Storage | undefined {
  try {
    return window.sessionStorage;
  } catch {
    return undefined;
  }
}

export function credential(kind: CredentialKind): string | undefined {
  return storage()?.getItem(storageKeys[kind]) ?? undefined;
}

export function setCredential(kind: CredentialKind, value: string): void {
  storage()?.setItem(storageKeys[kind], value);
  for (const listener of listeners) listener();
}

export function clearCredential(kind: CredentialKind): void {
  storage()?.removeItem(storageKeys[kind]);
  for (const listener of listeners) listener();
}

export function signOut(): void {
  const store = storage();
  for (const key of Object.values(storageKeys)) store?.removeItem(key);
  for (const listener of listeners) listener();
}

export function onSessionChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export interface SessionState {
  hasAdmin: boolean;
  hasKey: boolean;
  /** A short, non-secret label for the signed-in key (its first characters). */
  keyLabel: string | undefined;
}

export function sessionState(): SessionState {
  const key = credential('key');
  return {
    hasAdmin: credential('admin') !== undefined,
    hasKey: key !== undefined,
    keyLabel: key === undefined ? undefined : `${key.slice(0, 12)}…`,
  };
}
