import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { CreateContainerBody } from '@hearth/contract';
import { endOptionsAtOperands } from './argv.ts';
import {
  dockerDuration,
  memoryMib,
  parseEnvFile,
  parsePort,
  parseVolume,
  shellWords,
  vcpus,
} from './docker-flags.ts';
import { collect, runBody } from './run-body.ts';

describe("Docker's spellings of sizes, durations, ports and volumes", () => {
  it('turns Go durations into the contract form with the largest exact unit', () => {
    expect(dockerDuration('30s', 'x')).toBe('30s');
    expect(dockerDuration('1m30s', 'x')).toBe('90s');
    expect(dockerDuration('1m', 'x')).toBe('1m');
    expect(dockerDuration('2h', 'x')).toBe('2h');
    expect(dockerDuration('1h30m', 'x')).toBe('90m');
    expect(dockerDuration('1.5s', 'x')).toBe('1500ms');
    expect(dockerDuration('500ms', 'x')).toBe('500ms');
    for (const bad of ['30', 's', '1x', '1m 30s', '-1s', ''])
      expect(() => dockerDuration(bad, '--health-interval')).toThrow(
        /--health-interval .* is not a duration/,
      );
  });

  it('reads memory sizes in binary units as whole MiB, refusing less than the minimum', () => {
    expect(memoryMib('256m', '--memory')).toBe(256);
    expect(memoryMib('1g', '--memory')).toBe(1024);
    expect(memoryMib('512mb', '--memory')).toBe(512);
    expect(memoryMib(268435456, 'mem_limit')).toBe(256);
    expect(memoryMib('100000k', '--memory')).toBe(98);
    expect(() => memoryMib('32m', '--memory')).toThrow(/below the minimum of 64m/);
    expect(() => memoryMib('lots', '--memory')).toThrow(/--memory lots is not a size/);
  });

  it('rounds fractional CPUs up to whole vCPUs', () => {
    expect(vcpus('1', '--cpus')).toBe(1);
    expect(vcpus('0.5', '--cpus')).toBe(1);
    expect(vcpus(1.5, 'cpus')).toBe(2);
    expect(() => vcpus('0', '--cpus')).toThrow(/not a positive number/);
  });

  it('parses published ports and says why one is refused', () => {
    expect(parsePort('8080:80')).toEqual({ host: 8080, container: 80, protocol: 'tcp' });
    expect(parsePort('5353:53/udp')).toEqual({ host: 5353, container: 53, protocol: 'udp' });
    expect(parsePort('0.0.0.0:8080:80')).toEqual({ host: 8080, container: 80, protocol: 'tcp' });
    expect(() => parsePort('80')).toThrow(/a host port is required/);
    expect(() => parsePort('127.0.0.1:80:80')).toThrow(/only 0.0.0.0/);
    expect(() => parsePort('70000:80')).toThrow(/-p 70000:80 must look like/);
    expect(() => parsePort('80:80/sctp')).toThrow(/must look like/);
  });

  it('takes named volumes and refuses host paths', () => {
    expect(parseVolume('pgdata:/var/lib/postgresql')).toEqual({
      source: 'pgdata',
      target: '/var/lib/postgresql',
      readOnly: false,
    });
    expect(parseVolume('conf:/etc/app:ro').readOnly).toBe(true);
    expect(() => parseVolume('./data:/data')).toThrow(/bind mounts of host paths are not supported/);
    expect(() => parseVolume('/srv:/data')).toThrow(/bind mounts/);
    expect(() => parseVolume('data:/x:rx')).toThrow(/must look like VOLUME:\/path/);
    expect(() => parseVolume('data:rel')).toThrow(/not an absolute path/);
    expect(() => parseVolume('My_Vol:/x')).toThrow(/lowercase/);
  });

  it('reads env files literally (docker run) or with quotes and comments (Compose)', () => {
    const text = [
      '# comment',
      '',
      'A=1',
      'B="two words" # note',
      "C='x # y'",
      'FROM_ENV',
      'UNSET_HERE',
      'export D=4',
    ].join('\n');
    const environ = { FROM_ENV: 'inherited' };
    expect(parseEnvFile(text.replace('export D=4', 'D=4'), 'f', { quotes: false, environ })).toEqual({
      A: '1',
      B: '"two words" # note',
      C: "'x # y'",
      FROM_ENV: 'inherited',
      D: '4',
    });
    expect(parseEnvFile(text, 'f', { quotes: true, environ })).toEqual({
      A: '1',
      B: 'two words',
      C: 'x # y',
      FROM_ENV: 'inherited',
      D: '4',
    });
    expect(parseEnvFile('E="a\\nb"', 'f', { quotes: true }).E).toBe('a\nb');
    expect(() => parseEnvFile('1BAD=x', 'vars.env', { quotes: false })).toThrow(/vars.env:1: 1BAD is not/);
  });

  it('splits command strings into words as a shell would, without expanding', () => {
    expect(shellWords(`nginx -g 'daemon off;'`, 'c')).toEqual(['nginx', '-g', 'daemon off;']);
    expect(shellWords(`sh -c "echo \\"hi\\" \\$HOME"`, 'c')).toEqual(['sh', '-c', 'echo "hi" $HOME']);
    expect(shellWords(`a\\ b  ''`, 'c')).toEqual(['a b', '']);
    expect(() => shellWords(`echo 'x`, 'services.web.command')).toThrow(/services.web.command: a ' quote/);
  });
});

describe('hearth run options → the create body', () => {
  it('builds a body the contract accepts, -e winning over --env-file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'run-body-'));
    const envFile = join(dir, 'app.env');
    writeFileSync(envFile, 'A=from-file\nB=file\n');
    const body = runBody(
      'registry.local:5000/web:1',
      ['nginx', '-g', 'daemon off;'],
      {
        name: 'web',
        publish: ['8080:80'],
        env: ['A=flag'],
        envFile: [envFile],
        volume: ['html:/usr/share/nginx/html:ro'],
        restart: 'on-failure:3',
        memory: '512m',
        cpus: '1.5',
        healthCmd: 'curl -f localhost',
        healthInterval: '1m30s',
        healthRetries: '5',
        healthStartPeriod: '500ms',
        label: ['tier=web'],
        entrypoint: '/docker-entrypoint.sh',
        workdir: '/srv',
        user: '101:101',
        secretEnv: ['DB_PASSWORD=db-pass'],
        pull: 'always',
        network: 'backend',
      },
      'team',
    );
    expect(body).toEqual({
      image: 'registry.local:5000/web:1',
      name: 'web',
      project: 'team',
      pull: 'always',
      entrypoint: ['/docker-entrypoint.sh'],
      command: ['nginx', '-g', 'daemon off;'],
      workdir: '/srv',
      user: '101:101',
      env: { A: 'flag', B: 'file' },
      secretEnv: { DB_PASSWORD: 'db-pass' },
      ports: [{ host: 8080, container: 80, protocol: 'tcp' }],
      volumes: [{ source: 'html', target: '/usr/share/nginx/html', readOnly: true }],
      vcpus: 2,
      memoryMib: 512,
      network: 'backend',
      labels: { tier: 'web' },
      restart: 'on-failure:3',
      healthcheck: { cmd: 'curl -f localhost', interval: '90s', retries: 5, startPeriod: '500ms' },
    });
    expect(CreateContainerBody.safeParse(body).success).toBe(true);
    expect(runBody('alpine', [], { entrypoint: '' }, null).entrypoint).toEqual([]);
  });

  it('refuses flags that make no sense together or are malformed', () => {
    expect(() => runBody('a', [], { healthInterval: '10s' }, null)).toThrow(/need --health-cmd/);
    expect(() => runBody('a', [], { rm: true, detach: true }, null)).toThrow(/--rm works .* foreground/);
    expect(() => runBody('a', [], { restart: 'sometimes' }, null)).toThrow(
      /--restart sometimes must be one of/,
    );
    expect(() => runBody('a', [], { pull: 'daily' }, null)).toThrow(/--pull daily/);
    expect(() => runBody('a', [], { envFile: ['/nonexistent/x.env'] }, null)).toThrow(/not a readable file/);
    expect(() => runBody('a', [], { secretEnv: ['NOPE'] }, null)).toThrow(/VARIABLE=SECRETNAME/);
    expect(() => runBody('a', [], { healthCmd: 'true', healthRetries: '0' }, null)).toThrow(
      /--health-retries/,
    );
  });
});

describe('options end at the image (run) or container (exec), as in Docker', () => {
  const program = new Command('hearth').option('--json').option('--project <p>');
  program.command('run <image> [command...]').option('-d').option('-p <p>', '', collect).option('-e <e>');
  program.command('exec <c> <command...>').option('-i').option('-t').option('-u, --user <u>');
  program.command('ls');
  const end = (...a: string[]) => endOptionsAtOperands(program, a);

  it('inserts -- after the operand so the command keeps its own flags', () => {
    expect(end('run', '-d', '-p', '80:80', 'nginx', 'nginx', '-g', 'x')).toEqual([
      'run',
      '-d',
      '-p',
      '80:80',
      'nginx',
      '--',
      'nginx',
      '-g',
      'x',
    ]);
    expect(end('--project', 'p', 'run', '-dp', '80:80', 'nginx', '-d')).toEqual([
      '--project',
      'p',
      'run',
      '-dp',
      '80:80',
      'nginx',
      '--',
      '-d',
    ]);
    expect(end('exec', '-it', '--user=me', 'web', 'ls', '-la')).toEqual([
      'exec',
      '-it',
      '--user=me',
      'web',
      '--',
      'ls',
      '-la',
    ]);
  });

  it('leaves other verbs, an existing --, and a bare operand alone', () => {
    expect(end('exec', 'web', '--', 'ls', '-la')).toEqual(['exec', 'web', '--', 'ls', '-la']);
    expect(end('exec', 'vm', '--user', 'bob', '--', 'id')).toEqual([
      'exec',
      'vm',
      '--user',
      'bob',
      '--',
      'id',
    ]);
    expect(end('run', 'alpine', 'git', 'log', '--', 'f')).toEqual([
      'run',
      'alpine',
      '--',
      'git',
      'log',
      '--',
      'f',
    ]);
    expect(end('run', 'nginx')).toEqual(['run', 'nginx']);
    expect(end('ls', '-a', 'x', 'y')).toEqual(['ls', '-a', 'x', 'y']);
    expect(end('--json', 'run', '-e', 'A=1', 'alpine', 'env')).toEqual([
      '--json',
      'run',
      '-e',
      'A=1',
      'alpine',
      '--',
      'env',
    ]);
  });
});
