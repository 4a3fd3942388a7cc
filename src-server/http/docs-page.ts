import { PROBLEM_CODES } from '../../src-shared/error-codes.ts';
import { escapeHtml } from './html.ts';

/**
 * The human docs page at /docs, rendered on the server from the OpenAPI document: plain HTML and
 * inline CSS, no scripts and nothing fetched from a CDN, so it works offline and under a strict CSP.
 */

interface Operation {
  summary?: string;
  tags?: string[];
  security?: unknown[];
  parameters?: Array<{ name: string; in: string; required?: boolean }>;
  requestBody?: { content?: Record<string, { schema?: unknown }> };
  responses?: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}

interface OpenApiDocument {
  info?: { title?: string; version?: string; description?: string };
  paths?: Record<string, Record<string, Operation>>;
}

function schemaBlock(label: string, schema: unknown): string {
  if (schema === undefined) return '';
  return `<details><summary>${escapeHtml(label)}</summary><pre>${escapeHtml(JSON.stringify(schema, null, 2))}</pre></details>`;
}

function operationHtml(path: string, method: string, op: Operation): string {
  const auth = op.security?.length ? '<span class="auth">bearer token</span>' : '<span class="public">public</span>';
  const params = (op.parameters ?? [])
    .map((p) => `<code>${escapeHtml(p.name)}</code> (${escapeHtml(p.in)}${p.required ? ', required' : ''})`)
    .join(', ');
  const body = schemaBlock('Request body', op.requestBody?.content?.['application/json']?.schema);
  const responses = Object.entries(op.responses ?? {})
    .map(([status, response]) => schemaBlock(`Response ${status}`, response.content?.['application/json']?.schema))
    .join('');
  return `<section class="op"><h3><span class="method">${method.toUpperCase()}</span> <code>${escapeHtml(path)}</code> ${auth}</h3>
<p>${escapeHtml(op.summary ?? '')}</p>${params ? `<p>Parameters: ${params}</p>` : ''}${body}${responses}</section>`;
}

export function renderDocsPage(document: OpenApiDocument): string {
  const operations = Object.entries(document.paths ?? {}).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => operationHtml(path, method, op)),
  );
  const codes = Object.entries(PROBLEM_CODES)
    .map(
      ([code, { status, title }]) =>
        `<tr id="${code}"><td><code>${code}</code></td><td>${status}</td><td>${escapeHtml(title)}</td></tr>`,
    )
    .join('\n');
  const title = escapeHtml(document.info?.title ?? 'API');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d232a}
code,pre{font:13px ui-monospace,monospace}pre{background:#f4f5f7;padding:.75rem;overflow:auto}
.op{border-top:1px solid #dde;padding:.5rem 0}.method{font-weight:700;color:#0b5cad}
.auth,.public{font-size:12px;border-radius:3px;padding:0 .4rem;margin-left:.5rem}.auth{background:#fde9c8}.public{background:#d8f3dc}
table{border-collapse:collapse}td{border-top:1px solid #dde;padding:.25rem .75rem .25rem 0;vertical-align:top}
</style></head><body>
<h1>${title} <small>${escapeHtml(document.info?.version ?? '')}</small></h1>
<p>${escapeHtml(document.info?.description ?? '')}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3). Signed-in routes take
<code>Authorization: Bearer &lt;access token&gt;</code> from <code>POST /v1/auth/sign-in</code>.</p>
<h2>Errors</h2>
<p>Every error is <code>application/problem+json</code> (RFC 9457) with a stable <code>code</code>:</p>
<table><tr><th>code</th><th>status</th><th>meaning</th></tr>
${codes}
</table>
<h2>Routes</h2>
${operations.join('\n')}
</body></html>
`;
}
