import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Hono } from 'hono';

// swagger-ui-dist ships the prebuilt page assets with no runtime dependencies;
// serving them from the service keeps /docs working with no network (no CDN).
const require = createRequire(import.meta.url);
const ASSET_DIR = dirname(require.resolve('swagger-ui-dist/package.json'));
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>LLM Inference API reference</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>`;

const INIT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true, validatorUrl: null });`;

/** GET /docs (the API reference), its assets, and the raw contract at /openapi.json and /openapi.yaml. */
export function mountDocs(app: Hono, document: object, yaml: string): void {
  const json = JSON.stringify(document);
  const cache = new Map<string, Promise<Buffer>>();
  app.get('/openapi.json', (c) => c.body(json, 200, { 'content-type': 'application/json; charset=utf-8' }));
  app.get('/openapi.yaml', (c) => c.body(yaml, 200, { 'content-type': 'application/yaml; charset=utf-8' }));
  app.get('/docs', (c) => c.html(PAGE));
  // init.js is served by the parametric route: a static route beside `/docs/:asset`
  // would make Hono fall back from its RegExpRouter to the slower TrieRouter for
  // every route, the chat completion included (request-path.test.ts checks).
  app.get('/docs/:asset', async (c) => {
    const name = c.req.param('asset');
    if (name === 'init.js') return c.body(INIT, 200, { 'content-type': 'text/javascript; charset=utf-8' });
    const type = ASSETS[name];
    if (!type) return c.notFound();
    let file = cache.get(name);
    if (!file) {
      file = readFile(join(ASSET_DIR, name));
      cache.set(name, file);
    }
    return c.body(new Uint8Array(await file), 200, { 'content-type': type, 'cache-control': 'public, max-age=3600' });
  });
}
