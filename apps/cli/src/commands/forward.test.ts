import { describe, expect, it } from 'vitest';
import { parseForward, shq, sshConfigBlock } from './forward.ts';

describe('port-forward and ssh helpers', () => {
  it('reads LOCAL:REMOTE and PORT, and refuses the rest', () => {
    expect(parseForward('8080:80')).toEqual({ local: 8080, remote: 80 });
    expect(parseForward('5432')).toEqual({ local: 5432, remote: 5432 });
    expect(parseForward('0:22')).toEqual({ local: 0, remote: 22 });
    for (const bad of ['80:0', '70000:80', 'a:80', '80:', ':80', '1:2:3']) {
      expect(() => parseForward(bad), bad).toThrow(/LOCAL:REMOTE/);
    }
  });

  it('quotes ProxyCommand words for the shell ssh runs it with', () => {
    expect(shq('/usr/bin/node')).toBe('/usr/bin/node');
    expect(shq("/home/o'neil/hearth dir")).toBe(`'/home/o'\\''neil/hearth dir'`);
  });

  it('prints an OpenSSH block keyed by the VM name', () => {
    const block = sshConfigBlock({
      alias: 'hearth-web',
      user: 'dev',
      proxy: 'node hearth ssh-proxy vm_1 22',
    });
    expect(block.split('\n')).toEqual([
      'Host hearth-web',
      '  HostName hearth-web',
      '  User dev',
      '  ProxyCommand node hearth ssh-proxy vm_1 22',
      '  HostKeyAlias hearth-web',
      '  StrictHostKeyChecking accept-new',
      '',
    ]);
  });
});
