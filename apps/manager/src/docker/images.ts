import type { Image } from '@hearth/contract';
import { parseOciRef } from '../images/oci-ref.ts';
import type { Creds, HearthBackend } from './backend.ts';
import { enc, must } from './calls.ts';
import { ociOf } from './translate-view.ts';

/** Every image of the caller's project (and the global ones), following the cursor. */
export async function allImages(b: HearthBackend, creds: Creds): Promise<Image[]> {
  const out: Image[] = [];
  let cursor: string | null = null;
  do {
    const q = new URLSearchParams({ limit: '500' });
    if (cursor) q.set('cursor', cursor);
    const page: { items: Image[]; nextCursor: string | null } = await must(
      b,
      creds,
      'GET',
      `/v1/images?${q}`,
    );
    out.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

export const isOci = (img: Image) => img.source.startsWith('oci:');

/** Docker's short spelling of a canonical reference: `docker.io/library/nginx:1` → `nginx:1`. */
export function familiar(canonical: string): string {
  return canonical.replace(/^docker\.io\/library\//, '').replace(/^docker\.io\//, '');
}

/** The canonical reference an image was pulled as (`oci:<canonical>` is its source). */
export const refOf = (img: Image) => (isOci(img) ? img.source.slice(4) : img.name);

/**
 * The imported image a Docker reference means: the newest import of the same canonical
 * reference, else an OCI image whose Hearth id or name it is. undefined: not present (Docker's
 * "No such image", on which the client pulls).
 */
export async function findImage(b: HearthBackend, creds: Creds, ref: string): Promise<Image | undefined> {
  const parsed = parseOciRef(ref);
  const images = (await allImages(b, creds)).filter(isOci);
  const bare = ref.replace(/^sha256:/, '');
  const hit = images
    .filter(
      (i) =>
        (parsed && refOf(i) === parsed.canonical) ||
        i.id === ref ||
        i.name === ref ||
        (bare.length >= 12 && i.sha256.startsWith(bare)),
    )
    .sort((a, z) => z.createdAt.localeCompare(a.createdAt));
  return hit[0];
}

/** One row of `GET /images/json`. */
export function imageSummary(img: Image) {
  const digest = img.meta.ociDigest as string | undefined;
  const ref = refOf(img);
  const repo = ref.replace(/(:[\w][\w.-]*)?(@sha256:[0-9a-f]+)?$/, '');
  return {
    Id: `sha256:${img.sha256}`,
    ParentId: '',
    RepoTags: ref.includes('@') ? [] : [familiar(ref)],
    RepoDigests: digest ? [`${familiar(repo)}@${digest}`] : [],
    Created: Math.floor(Date.parse(img.createdAt) / 1000),
    Size: img.sizeBytes,
    VirtualSize: img.sizeBytes,
    SharedSize: -1,
    Labels: {},
    Containers: img.usedBy.length,
    HearthImage: img.id,
  };
}

/** `GET /images/{name}/json`. */
export function imageInspect(img: Image) {
  const s = imageSummary(img);
  const oci = ociOf(img);
  return {
    Id: s.Id,
    RepoTags: s.RepoTags,
    RepoDigests: s.RepoDigests,
    Parent: '',
    Comment: `imported by Hearth as image ${img.name} (${img.id})`,
    Created: img.createdAt,
    Container: '',
    ContainerConfig: {},
    DockerVersion: '',
    Author: '',
    Config: {
      User: oci.user ?? '',
      Env: oci.env ?? [],
      Cmd: oci.cmd ?? null,
      Entrypoint: oci.entrypoint ?? null,
      WorkingDir: oci.workdir ?? '',
      ExposedPorts: Object.fromEntries((oci.exposedPorts ?? []).map((p) => [p, {}])),
      Labels: {},
    },
    Architecture: 'amd64',
    Os: 'linux',
    Size: img.sizeBytes,
    VirtualSize: img.sizeBytes,
    GraphDriver: { Name: 'hearth-ext4', Data: {} },
    RootFS: { Type: 'layers', Layers: [] },
    Metadata: { LastTagTime: '0001-01-01T00:00:00Z' },
  };
}

export const imagePath = (img: Image) => `/v1/images/${enc(img.id)}`;
