import type {
  CompanionBridge,
  CompanionState,
  MethodName,
  Params,
  ProblemView,
  ResultOf,
} from '../src-shared/contract.ts';
import type { ErrorCode } from '../src-shared/error-codes.ts';
import { WEB_BRIDGE } from '../src-shared/web-bridge.ts';

declare global {
  interface Window {
    /** Provided by the Electron preload; absent when the page runs in a browser (--web). */
    tollgate?: CompanionBridge;
  }
}

export type LinkStatus = 'connecting' | 'connected' | 'lost';

/** How this page reaches main: the preload's bridge in Electron, loopback HTTP in --web mode. */
export interface Connection {
  bridge: CompanionBridge;
  transport: 'electron' | 'web';
  /** Reports whether main can be reached (only the web transport can lose it). */
  onLink(listener: (status: LinkStatus) => void): void;
}

/** Opened from the companion's --web link: its code was exchanged for the (HttpOnly) session cookie. */
function openedFromCompanion(): boolean {
  return document.cookie.split('; ').some((cookie) => cookie.startsWith(`${WEB_BRIDGE.pageCookie}=`));
}

/** A failure this page words itself, with one of Tollgate's codes (src-shared/error-codes.ts). */
export const problem = (code: ErrorCode, message: string): ProblemView => ({ code, message });

const unreachable = problem(
  'COMPANION_UNREACHABLE',
  'The companion app is not answering. Start it again and reopen this window from it.',
);

function isResult(body: unknown): body is { ok: boolean } {
  return typeof body === 'object' && body !== null && typeof (body as { ok?: unknown }).ok === 'boolean';
}

function webConnection(): Connection {
  const linkListeners: ((status: LinkStatus) => void)[] = [];
  const report = (status: LinkStatus) => {
    for (const listener of linkListeners) listener(status);
  };
  type Reply<M extends MethodName> = { ok: true; value: ResultOf<M> } | { ok: false; error: ProblemView };
  const bridge: CompanionBridge = {
    async invoke<M extends MethodName>(method: M, params: Params<M>): Promise<Reply<M>> {
      try {
        const response = await fetch(`${WEB_BRIDGE.rpcPath}${method}`, {
          method: 'POST',
          // Same origin: the HttpOnly session cookie goes with it.
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(params),
        });
        const body: unknown = await response.json().catch(() => null);
        if (isResult(body)) return body as Reply<M>;
        // Not one of the companion's Result bodies: something else answered, or it broke.
        return { ok: false, error: problem('INTERNAL', response.statusText || 'Bad reply') };
      } catch {
        return { ok: false, error: unreachable };
      }
    },
    onState(listener) {
      const events = new EventSource(WEB_BRIDGE.eventsPath);
      events.onopen = () => report('connected');
      events.onerror = () => report(events.readyState === EventSource.CLOSED ? 'lost' : 'connecting');
      events.onmessage = (event: MessageEvent<string>) => listener(JSON.parse(event.data) as CompanionState);
      return () => events.close();
    },
  };
  return {
    bridge,
    transport: 'web',
    onLink: (listener) => {
      linkListeners.push(listener);
    },
  };
}

/** The bridge this page uses, or null when it was opened without one (not from the companion). */
export function selectConnection(): Connection | null {
  if (window.tollgate) {
    return { bridge: window.tollgate, transport: 'electron', onLink: (listener) => listener('connected') };
  }
  return openedFromCompanion() ? webConnection() : null;
}
