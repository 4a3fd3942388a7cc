import { describe, expect, it } from 'vitest';
import { plansByPrice, selectPrompt } from '../../../src-renderer/view/prompt.ts';
import type { CompanionState, OperationState } from '../../../src-shared/contract.ts';
import { awaitingLicense, nothingGranted, withStanding } from '../../support/companion-states.ts';
import { NOW, PLANS, signedIn, signedOut } from './fixtures.ts';

const none = new Set<string>();

function denied(
  state: CompanionState,
  subject: string,
  decision: NonNullable<CompanionState['lastDenial']>['decision'],
) {
  return { ...state, lastDenial: { at: NOW, subject, decision } };
}

const professional = {
  tier: 'professional' as const,
  name: 'Professional',
  monthlyPriceCents: 4900,
  yearlyPriceCents: 49000,
  contactSales: false,
};

describe('upgrade prompt selection', () => {
  it('shows nothing while usage is calm', () => {
    expect(selectPrompt(signedIn('free', { ai_operations: 3 }), none)).toBeNull();
  });

  it('offers no upgrade for the 0-of-0 bars of a standing that grants nothing', () => {
    expect(selectPrompt(awaitingLicense(), none)).toBeNull();
    const tampered = nothingGranted(withStanding(signedIn('professional'), 'CLOCK_TAMPERED'));
    expect(tampered.usage.operations.ai_operations).toMatchObject({ limit: 0 });
    expect(selectPrompt(tampered, none)).toBeNull();
  });

  it('shows nothing to a signed-out user', () => {
    expect(selectPrompt(signedOut(), none)).toBeNull();
  });

  it('warns near a limit and offers the cheapest plan with room', () => {
    const prompt = selectPrompt(signedIn('free', { ai_operations: 4 }), none);
    expect(prompt).toMatchObject({ reason: 'limit_near', headline: 'AI operations: 80 % used', offer: professional });
    expect(prompt?.blocked).toBe('4 of 5 AI operations used this month');
  });

  it('says what is blocked when a limit is hit', () => {
    const prompt = selectPrompt(signedIn('free', { ai_operations: 5 }), none);
    expect(prompt).toMatchObject({
      reason: 'limit_reached',
      headline: 'AI operations: limit reached',
      offer: professional,
    });
    expect(prompt?.blocked).toContain('Blocked: AI operations');
  });

  it('counts pending local usage towards the limit', () => {
    expect(selectPrompt(signedIn('free', { ai_operations: 3 }, { ai_operations: 2 }), none)?.reason).toBe(
      'limit_reached',
    );
  });

  it('prefers the fullest limit', () => {
    const prompt = selectPrompt(signedIn('free', { ai_operations: 4, data_processing: 2 }), none);
    expect(prompt?.headline).toBe('Data processing: limit reached');
  });

  it('offers Enterprise to a Professional user out of AI operations', () => {
    const prompt = selectPrompt(signedIn('professional', { ai_operations: 100 }), none);
    expect(prompt?.offer).toMatchObject({ tier: 'enterprise', monthlyPriceCents: 19900, contactSales: false });
  });

  it('puts a host app denial first, with the plan main suggested', () => {
    const state = denied(signedIn('free', { ai_operations: 4 }), 'gate.check export_formats', {
      allowed: false,
      code: 'FEATURE_NOT_IN_PLAN',
      upgrade: professional,
    });
    const prompt = selectPrompt(state, none);
    expect(prompt).toMatchObject({
      reason: 'denied',
      headline: 'An app was blocked: Export formats',
      offer: professional,
    });
    expect(prompt?.blocked).toBe('Export formats is not included in your plan');
  });

  it('names the operation label for a denied limit', () => {
    const state = denied(signedIn('free', { data_processing: 2 }), 'usage.consume data_processing', {
      allowed: false,
      code: 'LIMIT_REACHED',
      limit: 2,
      remaining: 0,
      upgrade: professional,
    });
    expect(selectPrompt(state, none)?.blocked).toBe("Data processing: this month's limit is used up");
  });

  it('drops a denial once the user already has the suggested plan', () => {
    const state = denied(signedIn('professional'), 'gate.check export_formats', {
      allowed: false,
      code: 'FEATURE_NOT_IN_PLAN',
      upgrade: professional,
    });
    expect(selectPrompt(state, none)).toBeNull();
  });

  it('keeps a dismissed prompt away until the situation changes', () => {
    const near = signedIn('free', { ai_operations: 4 });
    const key = selectPrompt(near, none)?.key ?? '';
    expect(selectPrompt(near, new Set([key]))).toBeNull();
    expect(selectPrompt(signedIn('free', { ai_operations: 5 }), new Set([key]))?.reason).toBe('limit_reached');
  });

  it("shows main's offer for the operation, and none when main has none", () => {
    const full = signedIn('free', { ai_operations: 5 });
    const enterprise = { ...professional, tier: 'enterprise' as const, name: 'Enterprise' };
    const offered = {
      ...full,
      usage: {
        ...full.usage,
        operations: {
          ...full.usage.operations,
          ai_operations: { ...(full.usage.operations.ai_operations as OperationState), upgrade: enterprise },
        },
      },
    };
    expect(selectPrompt(offered, none)).toMatchObject({ reason: 'limit_reached', offer: enterprise });
    const noOffer = {
      ...full,
      usage: {
        ...full.usage,
        operations: {
          ...full.usage.operations,
          ai_operations: { ...(full.usage.operations.ai_operations as OperationState), upgrade: null },
        },
      },
    };
    expect(selectPrompt(noOffer, none)).toMatchObject({ reason: 'limit_reached', offer: null });
  });
});

describe('plan order', () => {
  it('runs from cheapest to dearest with negotiated plans last', () => {
    expect(plansByPrice(PLANS.plans).map((plan) => plan.id)).toEqual(['free', 'professional', 'enterprise', 'custom']);
  });
});
