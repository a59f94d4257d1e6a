import * as Dialog from '@radix-ui/react-dialog';
import type { ReactNode } from 'react';
import { Button, ErrorLine } from './ui.tsx';

/**
 * A dialog holding a small form (a name to clone under, a size to grow to). It stays open while
 * the request runs and shows the API's refusal inside, so nothing is lost on an error.
 */
export function FormDialog({
  open,
  title,
  description,
  children,
  submitLabel,
  pending,
  error,
  danger,
  onSubmit,
  onOpenChange,
}: {
  open: boolean;
  title: string;
  description?: ReactNode;
  children?: ReactNode;
  submitLabel: string;
  pending?: boolean;
  error?: string | null;
  danger?: boolean;
  onSubmit(): void;
  onOpenChange(open: boolean): void;
}) {
  return (
    <Dialog.Root open={open} onOpenChange={onOpenChange}>
      <Dialog.Portal>
        <Dialog.Overlay className="fixed inset-0 bg-black/50" />
        <Dialog.Content className="fixed top-1/2 left-1/2 max-h-[90vh] w-[min(34rem,92vw)] -translate-x-1/2 -translate-y-1/2 overflow-y-auto rounded-lg bg-white p-5 shadow-xl dark:bg-slate-900">
          <Dialog.Title className="text-lg font-semibold">{title}</Dialog.Title>
          <Dialog.Description asChild>
            <div className="mt-2 text-sm text-slate-700 dark:text-slate-200">{description ?? title}</div>
          </Dialog.Description>
          <form
            noValidate
            className="mt-4 space-y-4"
            onSubmit={(e) => {
              e.preventDefault();
              onSubmit();
            }}
          >
            {children}
            <ErrorLine className="text-sm" message={error} />
            <div className="flex justify-end gap-2">
              <Dialog.Close asChild>
                <Button>Cancel</Button>
              </Dialog.Close>
              <Button type="submit" variant={danger ? 'danger' : 'primary'} disabled={pending}>
                {pending ? `${submitLabel}…` : submitLabel}
              </Button>
            </div>
          </form>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}
