// The /docs page (swagger-ui-dist served by the service itself) rendered in a
// real headless Chromium: it shows the contract, and it never reaches for a
// CDN or any other host (the page must work on an offline network).
import { existsSync } from 'node:fs';
import { openapiDocument } from '@llmgw/contract';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../testing/stack.ts';

/** Debian's package (install with .ci/chromium.sh); playwright's own browser download is not used. */
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

describe('/docs in headless Chromium', () => {
  let stack: Stack;
  let browser: Browser;
  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`Chromium not found at ${CHROMIUM}: run .ci/chromium.sh (apt-get install chromium) or set CHROMIUM to a Chromium binary.`);
    }
    stack = await startStack();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  }, 20_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it('renders the contract title and operations from the service alone', async () => {
    const page = await browser.newPage();
    const requested: string[] = [];
    const failed: string[] = [];
    page.on('request', (req) => requested.push(req.url()));
    page.on('requestfailed', (req) => failed.push(`${req.url()} (${req.failure()?.errorText})`));
    // Anything off the service is recorded above and refused here, so a stray CDN link fails the test, not the network.
    await page.route('**/*', (route) => (route.request().url().startsWith(`${stack.url}/`) ? route.continue() : route.abort()));
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));

    const res = await page.goto(`${stack.url}/docs`, { waitUntil: 'load' });
    expect(res?.status()).toBe(200);
    await page.locator('.swagger-ui .info .title').waitFor({ timeout: 10_000 });
    expect(await page.locator('.swagger-ui .info .title').innerText()).toContain(openapiDocument.info.title);
    for (const path of ['/v1/chat/completions', '/v1/models', '/v1/jobs/{job_id}', '/readyz']) {
      await expect(page.locator('.opblock-summary-path', { hasText: path }).first().isVisible()).resolves.toBe(true);
    }
    await page.waitForLoadState('networkidle');

    expect(requested.length).toBeGreaterThanOrEqual(4);
    expect(requested).toContain(`${stack.url}/openapi.json`);
    const offService = requested.filter((u) => !u.startsWith(`${stack.url}/`) && !u.startsWith('data:'));
    expect(offService, 'requests to hosts other than the service').toEqual([]);
    expect(failed).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  }, 20_000);
});
