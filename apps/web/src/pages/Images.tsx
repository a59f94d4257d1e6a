import { useQuery } from '@tanstack/react-query';
import { useSession } from '../api/session.tsx';
import { imageQueries } from '../api/queries.ts';
import { Card, Empty, ErrorState, Loading, NotAvailable, PageHeader } from '../components/ui.tsx';
import { formatBytes, formatTime } from '../lib/format.ts';

export function Images() {
  const { client } = useSession();
  const images = useQuery(imageQueries.list(client));
  return (
    <>
      <PageHeader title="Images" />
      <div className="space-y-4">
        {images.isError ? (
          <ErrorState error={images.error} retry={() => void images.refetch()} />
        ) : images.isPending ? (
          <Loading what="images" />
        ) : images.data.length === 0 ? (
          <Empty title="No images">
            Run scripts/setup.sh to build and register the built-in kernel and rootfs.
          </Empty>
        ) : (
          <div className="overflow-x-auto rounded-lg border border-slate-200 bg-white dark:border-slate-800 dark:bg-slate-900">
            <table className="w-full text-left text-sm">
              <thead className="border-b border-slate-200 text-slate-600 dark:border-slate-800 dark:text-slate-300">
                <tr>
                  {['Name', 'Kind', 'Format', 'Size', 'Source', 'Added'].map((h) => (
                    <th key={h} className="p-2">
                      {h}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {images.data.map((i) => (
                  <tr key={i.id} className="border-b border-slate-100 last:border-0 dark:border-slate-800">
                    <td className="p-2 font-medium">
                      {i.name}
                      {i.builtin && (
                        <span className="ml-2 rounded bg-slate-200 px-1.5 text-xs dark:bg-slate-700">
                          built-in
                        </span>
                      )}
                    </td>
                    <td className="p-2">{i.kind}</td>
                    <td className="p-2">{i.format}</td>
                    <td className="p-2 whitespace-nowrap">{formatBytes(i.sizeBytes)}</td>
                    <td className="p-2 break-all">{i.source}</td>
                    <td className="p-2 whitespace-nowrap">{formatTime(i.createdAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <Card title="Upload and import">
          <NotAvailable feature="Image upload and OCI import">
            <p>
              The API lists and serves images but cannot receive new ones yet. The built-in kernel and base
              rootfs are built from Debian packages by <code>scripts/setup.sh</code>.
            </p>
          </NotAvailable>
        </Card>
      </div>
    </>
  );
}
