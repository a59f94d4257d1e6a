import { useId, useState } from 'react';
import type { FunctionInfo, FunctionVersion, InvokeResult } from '@hearth/contract';
import { fnKeys } from '../../api/function-queries.ts';
import { useApiMutation } from '../../api/mutation.ts';
import { inputClass, SelectField } from '../../components/Field.tsx';
import { RoleButton } from '../../components/RoleButton.tsx';
import { Card, Detail, ErrorLine, errorWithHint } from '../../components/ui.tsx';
import { parseEvent } from './code.ts';

const STATUS_CLASS: Record<InvokeResult['status'], string> = {
  ok: 'text-green-800 dark:text-green-200',
  error: 'text-red-700 dark:text-red-300',
  timeout: 'text-red-700 dark:text-red-300',
};

const pre =
  'max-h-72 overflow-auto rounded-md bg-slate-100 p-2 font-mono text-xs whitespace-pre-wrap dark:bg-slate-800';

function Response({ r }: { r: InvokeResult }) {
  return (
    <Card title="Response" className="mt-4">
      <div data-testid="invoke-response" data-status={r.status} className="space-y-3">
        <Detail
          items={[
            [
              'Status',
              <span key="s" data-testid="invoke-status" className={`font-semibold ${STATUS_CLASS[r.status]}`}>
                {r.status}
              </span>,
            ],
            ['Version', `v${r.version}`],
            ['Duration', `${r.durationMs.toFixed(1)} ms in the handler, ${r.totalMs.toFixed(0)} ms in all`],
            [
              'Start',
              <span key="c" data-testid="invoke-cold">
                {r.cold ? 'cold (restored from the snapshot)' : 'warm'}
              </span>,
            ],
            ['Request id', <code key="r">{r.requestId}</code>],
          ]}
        />
        {r.status === 'ok' && (
          <div>
            <h3 className="text-sm font-semibold">Result</h3>
            <pre data-testid="invoke-result" className={pre}>
              {JSON.stringify(r.result, null, 2) ?? 'undefined'}
            </pre>
          </div>
        )}
        {r.error && (
          <div>
            <h3 className="text-sm font-semibold">Error</h3>
            <pre data-testid="invoke-error" className={`${pre} text-red-800 dark:text-red-200`}>
              {`${r.error.type}: ${r.error.message}\n${r.error.stack.join('\n')}`}
            </pre>
          </div>
        )}
        <div>
          <h3 className="text-sm font-semibold">Log</h3>
          <pre data-testid="invoke-logs" className={pre}>
            {r.logs || '(nothing printed)'}
          </pre>
        </div>
      </div>
    </Card>
  );
}

/** A test invocation: an event as JSON, the live (or a chosen ready) version, and the answer. */
export function InvokeTab({ f, versions }: { f: FunctionInfo; versions: FunctionVersion[] }) {
  const id = useId();
  const [text, setText] = useState('{\n  "name": "world"\n}');
  const [version, setVersion] = useState('');
  const [bad, setBad] = useState<string | null>(null);
  const invoke = useApiMutation({
    call: (c, event: unknown) =>
      c.call('invokeFunction', {
        params: { name: f.name },
        query: version ? { version: Number(version) } : {},
        body: event,
      }),
    // An invocation adds a log entry and may start an instance.
    invalidate: [fnKeys.all],
  });
  const ready = versions.filter((v) => v.state === 'ready');
  return (
    <div>
      <form
        noValidate
        aria-label="Test invoke"
        className="grid gap-3"
        onSubmit={(e) => {
          e.preventDefault();
          const p = parseEvent(text);
          setBad(p.error);
          if (!p.error) invoke.mutate(p.event);
        }}
      >
        <div className="space-y-1">
          <label htmlFor={id} className="block text-sm font-medium">
            Event (JSON)
          </label>
          <textarea
            id={id}
            rows={8}
            spellCheck={false}
            aria-invalid={bad !== null}
            aria-describedby={`${id}-err`}
            className={`${inputClass} font-mono`}
            value={text}
            onChange={(e) => {
              setText(e.target.value);
              setBad(null);
            }}
          />
          <div id={`${id}-err`}>
            <ErrorLine className="text-sm" message={bad} />
          </div>
        </div>
        <div className="max-w-xs">
          <SelectField label="Version" value={version} onChange={setVersion}>
            <option value="">live{f.aliases.live ? ` (v${f.aliases.live})` : ''}</option>
            {ready.map((v) => (
              <option key={v.version} value={String(v.version)}>
                v{v.version}
              </option>
            ))}
          </SelectField>
        </div>
        <div className="flex items-center gap-2">
          <RoleButton route="invokeFunction" type="submit" variant="primary" disabled={invoke.isPending}>
            {invoke.isPending ? 'Invoking…' : 'Invoke'}
          </RoleButton>
          {invoke.isPending && (
            <span role="status" className="text-xs text-slate-600 dark:text-slate-300">
              A cold start restores an instance from the snapshot first.
            </span>
          )}
        </div>
        {invoke.error && <ErrorLine className="text-sm" message={errorWithHint(invoke.error)} />}
      </form>
      {invoke.data && !invoke.isPending && <Response r={invoke.data} />}
    </div>
  );
}
