import { describe, expect, it } from 'vitest';
import { appFromImage } from './app-spec.ts';

describe('appFromImage', () => {
  it('joins ENTRYPOINT and CMD, lets VM env override image ENV', () => {
    const app = appFromImage(
      {
        oci: {
          entrypoint: ['/entry.sh'],
          cmd: ['serve', '--port', '80'],
          env: ['PATH=/opt/bin:/bin', 'MODE=image', 'EMPTY='],
          workdir: '/srv',
          user: '1000:1000',
        },
      },
      { MODE: 'vm' },
    );
    expect(app).toEqual({
      argv: ['/entry.sh', 'serve', '--port', '80'],
      env: ['PATH=/opt/bin:/bin', 'MODE=vm', 'EMPTY='],
      workdir: '/srv',
      user: '1000:1000',
      restart: 'on-failure',
    });
  });

  it('CMD alone is the command; no process means no app', () => {
    expect(appFromImage({ oci: { cmd: ['/bin/sh'] } }, {})?.argv).toEqual(['/bin/sh']);
    expect(appFromImage({ oci: { cmd: [], entrypoint: [] } }, {})).toBeNull();
    expect(appFromImage({}, {})).toBeNull();
  });

  it('defaults: root in / with a standard PATH', () => {
    const app = appFromImage({ oci: { cmd: ['x'] } }, {})!;
    expect(app.workdir).toBe('/');
    expect(app.user).toBe('');
    expect(app.env[0]).toMatch(/^PATH=\/usr\/local\/sbin/);
  });
});
