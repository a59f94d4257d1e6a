import type { ErrorCode } from './errors.ts';
import type { RouteDef } from './routes.ts';
import { IdParam, pageOf } from './common.ts';
import { AttachVolumeBody, CreateVolumeBody, ListVolumesQuery, ResizeVolumeBody, Volume } from './volume.ts';

const def = <const T extends RouteDef>(r: T): T => r;
const VOL: ErrorCode[] = ['VOLUME_NOT_FOUND'];
const base = { tag: 'volumes', auth: 'user' } as const;

/** Data disks that outlive VMs. Neither VMM hot-plugs here, so attach needs a stopped VM. */
export const volumeRoutes = {
  createVolume: def({
    ...base,
    method: 'POST',
    path: '/v1/volumes',
    summary: 'Create a volume: an empty raw disk, a fresh ext4 filesystem, or a copy of an image.',
    body: CreateVolumeBody,
    response: Volume,
    status: 201,
    errors: ['VALIDATION_FAILED', 'VOLUME_NAME_TAKEN', 'IMAGE_NOT_FOUND', 'NO_HOST_AVAILABLE', 'AGENT_ERROR'],
  }),
  listVolumes: def({
    ...base,
    method: 'GET',
    path: '/v1/volumes',
    summary: 'List volumes.',
    query: ListVolumesQuery,
    response: pageOf(Volume),
    status: 200,
    errors: [],
  }),
  getVolume: def({
    ...base,
    method: 'GET',
    path: '/v1/volumes/:id',
    summary: 'One volume (id or name).',
    params: IdParam,
    response: Volume,
    status: 200,
    errors: VOL,
  }),
  deleteVolume: def({
    ...base,
    method: 'DELETE',
    path: '/v1/volumes/:id',
    summary: 'Delete a volume and its data. Refused while it is attached.',
    params: IdParam,
    response: Volume,
    status: 200,
    errors: [...VOL, 'VOLUME_IN_USE'],
  }),
  attachVolume: def({
    ...base,
    method: 'POST',
    path: '/v1/volumes/:id/attach',
    summary:
      'Attach to a stopped VM on the same host; the guest sees it as the next virtio disk at the next start.',
    params: IdParam,
    body: AttachVolumeBody,
    response: Volume,
    status: 200,
    errors: [...VOL, 'VM_NOT_FOUND', 'VOLUME_IN_USE', 'VOLUME_NEEDS_STOPPED_VM', 'VOLUME_HOST_MISMATCH'],
  }),
  detachVolume: def({
    ...base,
    method: 'POST',
    path: '/v1/volumes/:id/detach',
    summary: 'Detach from its (stopped) VM. The data stays.',
    params: IdParam,
    response: Volume,
    status: 200,
    errors: [...VOL, 'VOLUME_NEEDS_STOPPED_VM'],
  }),
  resizeVolume: def({
    ...base,
    method: 'POST',
    path: '/v1/volumes/:id/resize',
    summary: 'Grow a volume (ext4 is grown with it). Shrinking is refused; the VM using it must be stopped.',
    params: IdParam,
    body: ResizeVolumeBody,
    response: Volume,
    status: 200,
    errors: [...VOL, 'VALIDATION_FAILED', 'VOLUME_NEEDS_STOPPED_VM'],
  }),
} as const;
