import { useEffect, useState } from 'preact/hooks';
import { onSessionChange, type SessionState, sessionState } from './session';

export function useSession(): SessionState {
  const [state, setState] = useState(sessionState);
  useEffect(() => onSessionChange(() => setState(sessionState())), []);
  return state;
}
