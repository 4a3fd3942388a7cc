import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { Problem } from '../../src-shared/api.ts';
import { ApiError } from '../http/errors.ts';

const AnalyzeBody = z.strictObject({
  text: z.string().max(100_000),
  /** Size of the project the text comes from; checked against the plan's max_project_size_mb. */
  sizeMb: z.number().min(0).max(10_000_000).optional(),
});
type AnalyzeBody = z.infer<typeof AnalyzeBody>;

const AnalyzeResult = z.object({
  characters: z.number().int(),
  words: z.number().int(),
  sentences: z.number().int(),
  topWords: z.array(z.object({ word: z.string(), count: z.number().int() })),
});
type AnalyzeResult = z.infer<typeof AnalyzeResult>;

/** The sample work: word statistics of a text. */
function analyzeText(text: string): AnalyzeResult {
  const words = text.toLowerCase().match(/\p{L}[\p{L}\p{N}'-]*/gu) ?? [];
  const counts = new Map<string, number>();
  for (const word of words) counts.set(word, (counts.get(word) ?? 0) + 1);
  const topWords = [...counts]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, 5)
    .map(([word, count]) => ({ word, count }));
  return {
    characters: [...text].length,
    words: words.length,
    sentences: text.split(/[.!?]+/).filter((part) => part.trim() !== '').length,
    topWords,
  };
}

/**
 * A sample billable operation: one AI operation per call, reserved before the handler runs,
 * committed when it answers 200 and released when it fails (an empty text is a 422 and costs
 * nothing).
 */
export const operationRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/v1/operations/analyze',
    {
      config: {
        access: 'metered',
        billable: {
          operation: 'ai_operations',
          units: () => 1,
          sizeMb: (request) => (request.body as AnalyzeBody).sizeMb,
        },
      },
      schema: {
        tags: ['operations'],
        summary: 'Analyze a text (billable: 1 AI operation, size-gated by sizeMb)',
        body: AnalyzeBody,
        response: { 200: AnalyzeResult, 402: Problem },
      },
    },
    async (request) => {
      if (request.body.text.trim() === '') throw new ApiError('NOTHING_TO_ANALYZE');
      return analyzeText(request.body.text);
    },
  );
};
