import * as Dialog from '@radix-ui/react-dialog';
import { useState, type ComponentProps, type ReactNode } from 'react';
import { Button, ErrorLine, errorText } from './ui.tsx';

/** A confirmation for destructive or disruptive actions; focus is trapped and Escape cancels. */
export function ConfirmDialog({
  open,
  title,
  children,
  confirmLabel,
  danger,
  onConfirm,
  onOpenChange,
}: {
  open: boolean;
  title: string;
  children: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  onConfirm(): void;
  onOpenChange(open: boolean): void;
}) {
  return (
    <Dialog.Root open={open} onOpenChange={onOpenChange}>
      <Dialog.Portal>
        <Dialog.Overlay className="fixed inset-0 bg-black/50" />
        <Dialog.Content className="fixed top-1/2 left-1/2 w-[min(32rem,92vw)] -translate-x-1/2 -translate-y-1/2 rounded-lg bg-white p-5 shadow-xl dark:bg-slate-900">
          <Dialog.Title className="text-lg font-semibold">{title}</Dialog.Title>
          <Dialog.Description asChild>
            <div className="mt-2 text-sm text-slate-700 dark:text-slate-200">{children}</div>
          </Dialog.Description>
          <div className="mt-5 flex justify-end gap-2">
            <Dialog.Close asChild>
              <Button>Cancel</Button>
            </Dialog.Close>
            <Button
              variant={danger ? 'danger' : 'primary'}
              onClick={() => {
                onConfirm();
                onOpenChange(false);
              }}
            >
              {confirmLabel}
            </Button>
          </div>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}

/**
 * A button that asks first (the dialog's text is the children), with the action's failure shown
 * under it. `note` stands between the button and the failure (a reason it is disabled).
 */
export function ConfirmButton({
  label,
  button,
  note,
  error,
  title,
  confirmLabel,
  danger,
  onConfirm,
  children,
}: {
  label: string;
  button?: Omit<ComponentProps<typeof Button>, 'onClick' | 'children'>;
  note?: ReactNode;
  error: unknown;
  title: string;
  confirmLabel: string;
  danger?: boolean;
  onConfirm(): void;
  children: ReactNode;
}) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <Button {...button} onClick={() => setOpen(true)}>
        {label}
      </Button>
      {note}
      <ErrorLine message={errorText(error)} />
      <ConfirmDialog
        open={open}
        onOpenChange={setOpen}
        title={title}
        confirmLabel={confirmLabel}
        danger={danger}
        onConfirm={onConfirm}
      >
        {children}
      </ConfirmDialog>
    </>
  );
}
