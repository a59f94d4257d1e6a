/**
 * Just enough of a browser for sign-in flows over plain HTTP: page loads that accept HTML,
 * manual redirects, and a cookie jar per origin (expired and cleared cookies are dropped).
 */
export class CookieBrowser {
  private readonly jars = new Map<string, Map<string, string>>();

  private jar(url: URL): Map<string, string> {
    let jar = this.jars.get(url.origin);
    if (!jar) this.jars.set(url.origin, (jar = new Map()));
    return jar;
  }

  cookie(url: string, name: string): string | undefined {
    return this.jar(new URL(url)).get(name);
  }

  setCookie(url: string, name: string, value: string): void {
    this.jar(new URL(url)).set(name, value);
  }

  /** One request, no redirect followed; cookies sent from and stored into the jar. */
  async request(
    url: string,
    init: { method?: string; form?: Record<string, string>; accept?: string } = {},
  ): Promise<Response> {
    const u = new URL(url);
    const jar = this.jar(u);
    const headers: Record<string, string> = { accept: init.accept ?? 'text/html,application/xhtml+xml' };
    if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    if (init.form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await fetch(u, {
      method: init.method ?? (init.form ? 'POST' : 'GET'),
      headers,
      redirect: 'manual',
      ...(init.form ? { body: new URLSearchParams(init.form).toString() } : {}),
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const gone = attrs.some((a) => {
        const [k, v] = a.trim().split('=');
        if (k?.toLowerCase() === 'max-age') return Number(v) <= 0;
        if (k?.toLowerCase() === 'expires') return new Date(v ?? '').getTime() <= Date.now();
        return false;
      });
      if (gone || value === '') jar.delete(name);
      else jar.set(name, value);
    }
    return res;
  }

  /** The absolute URL a redirect points to, or null when `res` is not a redirect. */
  static location(res: Response, from: string): string | null {
    const loc = res.headers.get('location');
    return res.status >= 300 && res.status < 400 && loc ? new URL(loc, from).href : null;
  }
}
