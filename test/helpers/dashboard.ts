import { afterAll, beforeAll, expect } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { axeViolations, ensureWebBuild, launchChromium, screenshot } from './browser.ts';
import { late } from './late.ts';
import { startPlatform, type Platform } from './platform.ts';

/** How long a VM's boot, snapshot or delete may take to show in the dashboard. */
export const BOOT_MS = 120_000;

/**
 * The dashboard tests' setup: in the enclosing describe, builds the web UI if needed, starts a
 * platform (manager + agent) and one Chromium page shared by the tests (beforeAll), optionally
 * signed in as the admin, and closes it all (afterAll).
 */
export function useDashboard(
  opts: { signedIn?: boolean; platform?: Parameters<typeof startPlatform>[0] } = {},
) {
  const platform = late<Platform>("the dashboard's platform");
  const tab = late<Page>("the dashboard's page");
  let browser: Browser | null = null;
  const ui = {
    get p(): Platform {
      return platform.get();
    },
    get page(): Page {
      return tab.get();
    },
    /** The VM page's state badge, once it reads `s`. */
    state: (s: string) => ui.page.getByTestId('vm-state').filter({ hasText: new RegExp(`^${s}$`) }),
    heading: (name: string | RegExp) => ui.page.getByRole('heading', { level: 1, name }),
    /** The API's refusal under a form: its error code and its hint. */
    apiError: (code: string, hint: string) =>
      ui.page.getByRole('alert').filter({ hasText: code }).filter({ hasText: hint }),
    /** A screenshot of the page, and no serious or critical axe-core violation on it. */
    accessible: async (name: string) => {
      await screenshot(ui.page, name);
      expect(await axeViolations(ui.page), `accessibility of ${name}`).toEqual([]);
    },
  };
  beforeAll(async () => {
    ensureWebBuild();
    const p = platform.set(await startPlatform(opts.platform));
    browser = await launchChromium();
    const page = tab.set(await browser.newPage({ viewport: { width: 1280, height: 860 } }));
    page.setDefaultTimeout(30_000);
    if (opts.signedIn) {
      await page.goto(p.manager.url);
      await page.getByLabel('API token').fill(p.manager.adminToken);
      await page.getByRole('button', { name: 'Sign in with token' }).click();
      await ui.heading('Dashboard').waitFor();
    }
  });
  afterAll(async () => {
    await browser?.close();
    await platform.peek()?.dispose();
  });
  return ui;
}
