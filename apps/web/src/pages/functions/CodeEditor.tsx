import { useEffect, useRef } from 'react';
import { basicSetup } from 'codemirror';
import { javascript } from '@codemirror/lang-javascript';
import { python } from '@codemirror/lang-python';
import { StreamLanguage } from '@codemirror/language';
import { ruby } from '@codemirror/legacy-modes/mode/ruby';
import { Compartment, EditorState, StateEffect, StateField, type Extension } from '@codemirror/state';
import { Decoration, EditorView, type DecorationSet } from '@codemirror/view';
import type { FunctionRuntime } from '@hearth/contract';
import { highlighting } from './highlight.ts';

const LANGUAGE: Record<FunctionRuntime, () => Extension> = {
  node22: () => javascript(),
  'python3.13': () => python(),
  ruby3: () => StreamLanguage.define(ruby),
};

/** The line a failed build points at, marked until the text changes. */
const setErrorLine = StateEffect.define<number | null>();
const errorLineField = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(marks, tr) {
    let out = tr.docChanged ? Decoration.none : marks;
    for (const e of tr.effects) {
      if (!e.is(setErrorLine)) continue;
      const n = e.value;
      out =
        n !== null && n >= 1 && n <= tr.state.doc.lines
          ? Decoration.set([
              Decoration.line({ class: 'cm-error-line', attributes: { 'data-error-line': String(n) } }).range(
                tr.state.doc.line(n).from,
              ),
            ])
          : Decoration.none;
    }
    return out;
  },
  provide: (f) => EditorView.decorations.from(f),
});

const theme = EditorView.theme({
  '&': { fontSize: '13px', minHeight: '16rem', maxHeight: '36rem' },
  '.cm-scroller': { fontFamily: 'ui-monospace, SFMono-Regular, Menlo, monospace', overflow: 'auto' },
  '.cm-error-line': { backgroundColor: 'rgba(220, 38, 38, 0.18)' },
});

/**
 * A CodeMirror 6 editor for one source file, with the runtime's language mode. The view is made
 * once per mount; a new `value` from outside (another file, a version's code loaded) replaces the
 * text only when it differs from what the editor holds, so typing never loses the cursor.
 */
export function CodeEditor({
  value,
  onChange,
  runtime,
  label,
  errorLine = null,
}: {
  value: string;
  onChange(v: string): void;
  runtime: FunctionRuntime;
  label: string;
  errorLine?: number | null;
}) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const language = useRef(new Compartment());
  const changed = useRef(onChange);
  useEffect(() => {
    changed.current = onChange;
  });

  useEffect(() => {
    const v = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: value,
        extensions: [
          basicSetup,
          highlighting,
          theme,
          errorLineField,
          language.current.of(LANGUAGE[runtime]()),
          EditorView.contentAttributes.of({ 'aria-label': label }),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) changed.current(u.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = v;
    return () => {
      v.destroy();
      view.current = null;
    };
    // The view lives as long as the component; later props reach it through the effects below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    const v = view.current;
    if (v && v.state.doc.toString() !== value) {
      v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: value } });
    }
  }, [value]);

  useEffect(() => {
    view.current?.dispatch({ effects: language.current.reconfigure(LANGUAGE[runtime]()) });
  }, [runtime]);

  useEffect(() => {
    view.current?.dispatch({ effects: setErrorLine.of(errorLine) });
  }, [errorLine]);

  return (
    <div
      ref={host}
      data-testid="code-editor"
      className="overflow-hidden rounded-md border border-slate-300 bg-white text-slate-900 dark:border-slate-600"
    />
  );
}
