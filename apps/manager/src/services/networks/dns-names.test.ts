import { describe, expect, it } from 'vitest';
import { nicDnsNames } from './dns-names.ts';

describe('nicDnsNames', () => {
  it("publishes the bare name and <name>.<network>.hearth on a project's own network", () => {
    expect(
      nicDnsNames(
        { name: 'db', project: 'shop', dnsAliases: ['postgres'] },
        { name: 'app', project: 'shop' },
      ),
    ).toEqual({
      dnsNames: ['db.app.hearth', 'db'],
      dnsAliases: ['postgres.app.hearth', 'postgres'],
    });
  });

  it('publishes only project-qualified names on a shared network, so projects cannot take each other’s names', () => {
    const a = nicDnsNames(
      { name: 'db', project: 'a', dnsAliases: ['cache'] },
      { name: 'default', project: null },
    );
    const b = nicDnsNames({ name: 'db', project: 'b', dnsAliases: [] }, { name: 'default', project: null });
    expect(a).toEqual({ dnsNames: ['db.a.default.hearth'], dnsAliases: ['cache.a.default.hearth'] });
    expect(b).toEqual({ dnsNames: ['db.b.default.hearth'], dnsAliases: [] });
  });

  it('drops aliases repeating the name, duplicates, and names a resolver answers itself', () => {
    expect(
      nicDnsNames(
        { name: 'web', project: 'p', dnsAliases: ['web', 'api', 'api', 'localhost'] },
        { name: 'n', project: 'p' },
      ),
    ).toEqual({ dnsNames: ['web.n.hearth', 'web'], dnsAliases: ['api.n.hearth', 'api'] });
    expect(
      nicDnsNames({ name: 'localhost', project: 'p', dnsAliases: [] }, { name: 'n', project: 'p' }).dnsNames,
    ).toEqual([]);
  });
});
