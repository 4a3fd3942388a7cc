// The conversion lives in src-shared/plans-view.ts, beside its inverse the companion uses.
export { plansView } from '../src-shared/plans-view.ts';
