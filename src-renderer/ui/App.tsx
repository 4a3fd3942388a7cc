import { useEffect } from 'react';
import { useUi } from '../store.ts';
import { accentOf, logoOf } from '../view/branding.ts';
import { AccountForms } from './AccountForms.tsx';
import { Banners } from './Banners.tsx';
import { CheckoutStatus } from './CheckoutStatus.tsx';
import { DeviceStanding, Devices } from './Devices.tsx';
import { Notices } from './Notices.tsx';
import { PricingTable } from './PricingTable.tsx';
import { TierStatus } from './TierStatus.tsx';
import { Trial } from './Trial.tsx';
import { UpgradePrompt } from './UpgradePrompt.tsx';
import { UsagePanel } from './UsagePanel.tsx';

const DEFAULT_NAME = 'Tollgate';

function Body() {
  const state = useUi((ui) => ui.companion);
  const link = useUi((ui) => ui.link);
  if (link === 'absent') {
    return (
      <p className="card info">
        This window shows your account from the companion app. Open it from there (for example{' '}
        <code>tollgate --web</code>).
      </p>
    );
  }
  if (state === null) return <p className="card info">Connecting to the companion…</p>;
  return (
    <>
      {/* Reconnecting after having had state means the companion went away (the web transport retries). */}
      {link !== 'connected' && (
        <p className="banner danger" role="alert">
          Lost contact with the companion app. Start it again and reopen this window.
        </p>
      )}
      <Banners state={state} />
      <Notices state={state} />
      {state.account === null ? (
        <>
          <SignOutNotice />
          <AccountForms />
          {/* The newcomer sees what each plan costs and gives before signing up. */}
          <PricingTable state={state} />
        </>
      ) : (
        <>
          <CheckoutStatus state={state} />
          <DeviceStanding state={state} />
          <Trial state={state} />
          <UpgradePrompt state={state} />
          <div className="grid">
            <TierStatus state={state} />
            <UsagePanel state={state} />
          </div>
          <Devices state={state} />
          <PricingTable state={state} />
        </>
      )}
    </>
  );
}

/** After a sign-out that left usage unsent: it is kept for that account, and the window says so. */
function SignOutNotice() {
  const notice = useUi((ui) => ui.signOutNotice);
  if (notice === null) return null;
  return (
    <p className="banner warning" role="status" data-testid="sign-out-notice">
      {notice}
    </p>
  );
}

// One empty list: a selector that built a new [] on every call would re-render without end.
const NO_PROBLEMS: readonly string[] = [];

/** Damaged data main found (journal entries not billed, an unreadable settings file): never hidden. */
function DataProblems() {
  const problems = useUi((ui) => ui.companion?.dataProblems ?? NO_PROBLEMS);
  if (problems.length === 0) return null;
  return (
    <div className="banner warning" role="alert" data-testid="data-problems">
      {problems.map((problem) => (
        <p key={problem}>{problem}</p>
      ))}
    </div>
  );
}

function Account() {
  const account = useUi((ui) => ui.companion?.account ?? null);
  const tokenStorage = useUi((ui) => ui.companion?.tokenStorage);
  const signOut = useUi((ui) => ui.signOut);
  if (!account) return null;
  return (
    <div className="account-bar">
      <span data-testid="account-email">{account.email}</span>
      {tokenStorage === 'plaintext' && (
        <span className="badge warning" title="This system offers no keychain: the sign-in token is stored unencrypted">
          Token not encrypted
        </span>
      )}
      <button type="button" onClick={() => void signOut()}>
        Sign out
      </button>
    </div>
  );
}

export function App() {
  const branding = useUi((ui) => ui.companion?.branding);
  const name = branding?.productName || DEFAULT_NAME;
  const accent = accentOf(branding?.accentColor ?? '');
  const logo = logoOf(branding?.logoUrl ?? null);

  useEffect(() => {
    document.title = name;
    document.documentElement.style.setProperty('--accent', accent.color);
    document.documentElement.style.setProperty('--on-accent', accent.onColor);
  }, [name, accent.color, accent.onColor]);

  return (
    <>
      <header className="topbar">
        <h1>
          {logo && <img src={logo} alt="" className="logo" />}
          {name}
        </h1>
        <Account />
        <DataProblems />
      </header>
      <main>
        <Body />
      </main>
    </>
  );
}
