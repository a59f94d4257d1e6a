import { describe, expect, it } from 'vitest';
import type { Locator } from 'playwright-core';
import { BOOT_MS, useDashboard } from '../helpers/dashboard.ts';

/**
 * A version's build boots a VM of the runtime (its image built on first use), loads the handler
 * and snapshots the VM: minutes under emulation on two shared cores, more when the image is new.
 */
const BUILD_MS = 10 * BOOT_MS;
/** Each test waits for at most two builds and a cold start, and some clicks. */
const STEP = { timeout: 2 * BUILD_MS + 4 * BOOT_MS };

const V1 = `exports.handler = async (event, context) => {
  console.log('web-log', event.n, context.awsRequestId);
  return { doubled: event.n * 2, from: 'v1' };
};
`;
/** Line 2 does not parse: Node reports `SyntaxError … (/var/task/index.js:2)`. */
const BROKEN = `exports.handler = async (event) => {
  return (;
};
`;
const V3 = `exports.handler = async (event) => ({ tripled: event.n * 3, from: 'v3' });
`;

// Functions in the dashboard (real Chromium, real platform, real build VMs and snapshot-restored
// instances): a node22 function is created from the new-function page with the editor's code,
// builds (its state shown until ready), answers a test invoke with its result, a cold start and its
// log line, and lists the invocation in its logs. The code is edited to a syntax error: the deploy
// fails with the runtime's line marked in the editor while live stays on v1, and the failed code is
// what the editor opens after a reload. A fixed v3 goes live, then v1 is made live again from the
// Versions tab and a test invoke runs v1. Every wait is on a DOM state.
describe('web dashboard: functions', () => {
  const ui = useDashboard({ signedIn: true });
  const { heading, accessible } = ui;
  const page = () => ui.page;
  const nav = (name: string) =>
    page().getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
  const tab = (name: string) => page().getByRole('tab', { name, exact: true });
  const editor = () => page().getByTestId('code-editor').locator('.cm-content');
  /** Replaces the editor's whole text as one input (no auto-indent or bracket closing per key). */
  const setCode = async (code: string) => {
    await editor().click();
    await page().keyboard.press('Control+A');
    await page().keyboard.press('Delete');
    await page().keyboard.insertText(code);
  };
  /** The build reaching `state`; on a timeout, the versions as the API sees them. */
  const build = async (state: 'ready' | 'failed', version: number): Promise<Locator> => {
    const status = page().locator(`[data-testid="build-status"][data-state="${state}"]`, {
      hasText: `v${version} `,
    });
    await status.waitFor({ timeout: BUILD_MS }).catch(async (e: unknown) => {
      const vs = await ui.p.client.call('listFunctionVersions', { params: { name: 'web-fn' } });
      throw new Error(`${(e as Error).message}\nversions: ${JSON.stringify(vs.items)}`);
    });
    return status;
  };
  const live = (v: string) =>
    page()
      .getByTestId('fn-live')
      .filter({ hasText: new RegExp(`^${v}$`) });
  const invoke = async (event: string) => {
    await tab('Test').click();
    await page().getByLabel('Event (JSON)').fill(event);
    await page().getByRole('button', { name: 'Invoke', exact: true }).click();
    const response = page().getByTestId('invoke-response');
    await response.waitFor({ timeout: 4 * BOOT_MS });
    return response;
  };

  it(
    'creates a node22 function in the editor, sees it ready, test-invokes it and finds its log',
    STEP,
    async () => {
      await nav('Functions').click();
      await heading('Functions').waitFor();
      await page().getByText('No functions yet').waitFor();
      await accessible('functions-empty');

      await page().getByRole('link', { name: 'New function' }).click();
      await heading('New function').waitFor();
      // The node22 template is in the editor, ready to deploy as it is.
      expect(await editor().textContent()).toContain('exports.handler = async (event, context)');
      expect(await page().getByLabel('Handler', { exact: true }).inputValue()).toBe('index.handler');
      // Refused before anything is sent: the contract's rule for names, next to the input.
      await page().getByLabel('Name', { exact: true }).fill('Web Fn');
      await page().getByRole('button', { name: 'Create and deploy' }).click();
      await page().getByTestId('field-error').first().waitFor();
      expect(await page().getByLabel('Name', { exact: true }).getAttribute('aria-invalid')).toBe('true');
      expect((await ui.p.client.call('listFunctions')).items).toEqual([]);
      await accessible('functions-create');

      await page().getByLabel('Name', { exact: true }).fill('web-fn');
      await setCode(V1);
      await page().getByRole('button', { name: 'Create and deploy' }).click();
      await heading(/web-fn/).waitFor();
      await build('ready', 1);
      await live('v1').waitFor();
      // What was built is the editor's text, read back through the API.
      const code = await ui.p.client.call('getFunctionCode', { params: { name: 'web-fn', version: 1 } });
      expect(code.files).toEqual({ 'index.js': V1 });
      await accessible('function-ready');

      const first = await invoke('{"n": 21}');
      await first.getByTestId('invoke-status').filter({ hasText: /^ok$/ }).waitFor();
      expect(await first.getByTestId('invoke-result').textContent()).toContain('"doubled": 42');
      expect(await first.getByTestId('invoke-cold').textContent()).toMatch(/^cold/);
      const logLine = await first.getByTestId('invoke-logs').textContent();
      expect(logLine).toMatch(/web-log 21 [0-9a-f-]{36}/);
      const requestId = /web-log 21 ([0-9a-f-]{36})/.exec(logLine!)![1]!;
      await accessible('function-invoke');
      // Bad JSON is refused in the page, nothing sent.
      await page().getByLabel('Event (JSON)').fill('{n: 1');
      await page().getByRole('button', { name: 'Invoke', exact: true }).click();
      await page().getByRole('alert').filter({ hasText: 'The event is not JSON' }).waitFor();

      await tab('Logs').click();
      const entry = page().locator(`li[data-request-id="${requestId}"]`);
      await entry.waitFor();
      expect(await entry.textContent()).toContain(`web-log 21 ${requestId}`);
      expect(await entry.textContent()).toContain('cold');

      await nav('Functions').click();
      const row = page().locator('tr[data-function="web-fn"]');
      await row
        .getByTestId('fn-state')
        .filter({ hasText: /^ready$/ })
        .waitFor();
      expect(await row.getByTestId('fn-live').textContent()).toBe('v1');
      expect(await row.textContent()).toContain('node22');
      await accessible('functions-list');
    },
  );

  it('deploys a syntax error: the build fails with its line marked, live stays on v1', STEP, async () => {
    await page().locator('tr[data-function="web-fn"]').getByRole('link', { name: 'web-fn' }).click();
    await build('ready', 1);
    // The editor opens the deployed code (loaded from the API, not kept by the page).
    await editor().filter({ hasText: "console.log('web-log'" }).waitFor();
    await setCode(BROKEN);
    await page().getByRole('button', { name: 'Deploy', exact: true }).click();
    const failed = await build('failed', 2);
    expect(await failed.getByTestId('build-error-line').textContent()).toBe(' at line 2 of index.js');
    expect(await failed.textContent()).toContain('Live stays on v1.');
    expect(await failed.textContent()).toContain('SyntaxError');
    await page().locator('.cm-error-line[data-error-line="2"]').waitFor();
    await live('v1').waitFor();
    expect((await ui.p.client.call('getFunction', { params: { name: 'web-fn' } })).aliases).toEqual({
      live: 1,
    });
    await accessible('function-build-failed');

    // After a reload the editor opens the newest (failed) version's code, with the line marked.
    await page().reload();
    await build('failed', 2);
    await editor().filter({ hasText: 'return (;' }).waitFor();
    await page().locator('.cm-error-line[data-error-line="2"]').waitFor();
    // Live still answers with v1.
    const r = await invoke('{"n": 2}');
    await r.getByTestId('invoke-status').filter({ hasText: /^ok$/ }).waitFor();
    expect(await r.getByTestId('invoke-result').textContent()).toContain('"from": "v1"');
  });

  it('a fixed v3 goes live, then v1 is made live again from the Versions tab', STEP, async () => {
    await tab('Code').click();
    await setCode(V3);
    await page().getByRole('button', { name: 'Deploy', exact: true }).click();
    await build('ready', 3);
    await live('v3').waitFor();

    await tab('Versions').click();
    const version = (n: number) => page().locator(`tr[data-version="${n}"]`);
    await version(3).getByTestId('version-aliases').filter({ hasText: 'live' }).waitFor();
    expect(await version(2).getByTestId('version-state').textContent()).toBe('failed');
    expect(await version(2).getByRole('button').count()).toBe(0);
    await accessible('function-versions');
    await version(1).getByRole('button', { name: 'Make v1 live' }).click();
    await page().getByRole('dialog').getByRole('button', { name: 'Make v1 live' }).click();
    await version(1).getByTestId('version-aliases').filter({ hasText: 'live' }).waitFor();
    await live('v1').waitFor();
    expect((await ui.p.client.call('getFunction', { params: { name: 'web-fn' } })).aliases).toEqual({
      live: 1,
    });

    const r = await invoke('{"n": 5}');
    await r.getByTestId('invoke-status').filter({ hasText: /^ok$/ }).waitFor();
    expect(await r.getByTestId('invoke-result').textContent()).toContain('"doubled": 10');
  });

  it(
    'charts the invocations the tests made and follows the log: a new one shows without a reload',
    STEP,
    async () => {
      await tab('Logs').click();
      await page().locator('[data-testid="fn-logs-status"][data-status="following"]').waitFor();
      const entries = page().locator('li[data-request-id]');
      // Made outside the page (no reload, no mutation of its own to refresh it): the follow brings it.
      const made = await ui.p.client.call('invokeFunction', {
        params: { name: 'web-fn' },
        body: { n: 77 },
        query: {},
      });
      const entry = page().locator(`li[data-request-id="${made.requestId}"]`);
      await entry.waitFor({ timeout: 4 * BOOT_MS });
      expect(await entry.textContent()).toContain(`web-log 77 ${made.requestId}`);
      // The newest on top.
      expect(await entries.first().getAttribute('data-request-id')).toBe(made.requestId);

      // The search asks the manager: only the invocation whose output has the text stays.
      // The follow reconnects with the search; its first invocations come oldest first and each
      // goes on top, so once the newest shows, everything the manager matched is on the page.
      await page().getByLabel('Search the logs').fill('WEB-LOG 77');
      await page()
        .locator('[data-testid="fn-logs-status"][data-status="following"][data-search="WEB-LOG 77"]')
        .waitFor();
      await entry.waitFor();
      expect(await entries.count()).toBe(1);
      expect(await entries.first().getAttribute('data-request-id')).toBe(made.requestId);
      await accessible('function-logs');
      await page().getByLabel('Search the logs').fill('');

      // The four test invokes (n 21, 2, 5 and 77) all answered ok: the charts hold them.
      const tile = (k: string) => page().locator(`[data-metric="${k}"] dd`);
      await tile('Invocations')
        .filter({ hasText: /^4$/ })
        .waitFor({ timeout: 4 * BOOT_MS });
      expect(await tile('Errors').textContent()).toBe('0');
      expect(await tile('Throttles').textContent()).toBe('0');
      const chart = page().getByTestId('fn-chart-invocations');
      const box = await chart.locator('canvas').boundingBox();
      expect(box?.width).toBeGreaterThan(100);
      const cells = async (series: string) =>
        (await page().locator(`td[data-series="${series}"]`).allTextContents()).map(Number);
      const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
      expect(sum(await cells('invocations'))).toBe(4);
      expect(sum(await cells('errors'))).toBe(0);
      const p50 = (await cells('p50')).filter((v) => v > 0);
      expect(p50.length).toBeGreaterThan(0);
      await page().getByTestId('fn-chart-duration').locator('canvas').waitFor();
      await accessible('function-metrics');
    },
  );
});
