import { useQuery } from '@tanstack/react-query';
import { Link, useParams } from 'react-router';
import { useAccess } from '../../api/access.ts';
import { identityQueries } from '../../api/identity-queries.ts';
import { useProject } from '../../api/project.tsx';
import { useSession } from '../../api/session.tsx';
import { Button, Card, Detail, linkClass, PageHeader, QueryView } from '../../components/ui.tsx';
import { formatTime } from '../../lib/format.ts';
import { Members } from './Members.tsx';
import { Quotas } from './Quotas.tsx';

/** One project: quotas with usage bars, and its members. */
export default function ProjectDetail() {
  const name = useParams().name ?? '';
  const { client } = useSession();
  const { project: current } = useAccess();
  const { choose } = useProject();
  const project = useQuery(identityQueries.project(client, name));
  return (
    <>
      <PageHeader
        title={`Project ${name}`}
        actions={
          current === name ? null : (
            <Button variant="primary" onClick={() => choose(name)}>
              Work in {name}
            </Button>
          )
        }
      />
      <p className="mb-4 text-sm">
        <Link className={linkClass} to="/projects">
          All projects
        </Link>
      </p>
      <QueryView query={project} what="project" empty={null} isEmpty={() => false}>
        {(p) => (
          <div className="space-y-4">
            <Card title="About">
              <Detail
                items={[
                  ['Description', p.description || '—'],
                  ['Your role', p.role],
                  ['Created', formatTime(p.createdAt)],
                ]}
              />
            </Card>
            <Quotas key={JSON.stringify(p.quotas)} project={p} />
            <Members project={p.name} />
          </div>
        )}
      </QueryView>
    </>
  );
}
