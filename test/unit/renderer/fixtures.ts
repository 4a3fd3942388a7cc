// The renderer's states now live in test/support, where the e2e tests read them too.
export { NOW, PLANS, signedIn, signedOut } from '../../support/companion-states.ts';
