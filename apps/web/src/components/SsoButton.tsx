import { useEffect, useState } from 'react';
import type { z } from 'zod';
import { AuthConfig, routes } from '@hearth/contract';
import { buttonLinkClass } from './ui.tsx';

/**
 * "Sign in with …" for single sign-on, shown only when the manager has an identity provider
 * configured (GET /v1/auth/config, which needs no credential, so it is fetched without the
 * SDK's bearer header). The link starts the OpenID Connect flow on the manager, which comes back
 * to the page the browser was on with a session cookie.
 */
export function SsoButton() {
  const [config, setConfig] = useState<z.infer<typeof AuthConfig> | null>(null);
  useEffect(() => {
    const ctl = new AbortController();
    fetch(routes.authConfig.path, { signal: ctl.signal })
      .then(async (r) => (r.ok ? AuthConfig.parse(await r.json()) : null))
      .then(setConfig, () => setConfig(null));
    return () => ctl.abort();
  }, []);
  if (!config?.oidc.enabled) return null;
  const returnTo = window.location.pathname + window.location.search;
  const href = `${routes.oidcStart.path}?${new URLSearchParams({ returnTo }).toString()}`;
  return (
    <a className={`${buttonLinkClass} w-full justify-center`} href={href} data-testid="sso-button">
      Sign in with {config.oidc.name ?? 'single sign-on'}
    </a>
  );
}
