import type { ErrorCode } from './errors.ts';
import type { RouteDef } from './routes.ts';
import { IdParam } from './common.ts';
import { CreateImageBody, Image, ImportImageBody } from './image.ts';

const def = <const T extends RouteDef>(r: T): T => r;
const base = { tag: 'images', params: IdParam } as const;
const IMPORT_ERR: ErrorCode[] = [
  'VALIDATION_FAILED',
  'IMAGE_NAME_TAKEN',
  'IMAGE_SOURCE_FORBIDDEN',
  'IMAGE_SOURCE_NOT_FOUND',
  'IMAGE_SOURCE_UNREACHABLE',
  'IMAGE_SOURCE_DENIED',
  'IMAGE_SOURCE_ADDRESS_REFUSED',
  'IMAGE_CHECKSUM_MISMATCH',
  'IMAGE_FORMAT_INVALID',
  'IMAGE_IMPORT_FAILED',
];

/** The image registry beyond list/get: uploads, imports, downloads (also for agents), deletes. */
export const imageRoutes = {
  createImage: def({
    tag: 'images',
    method: 'POST',
    path: '/v1/images',
    summary:
      'Declare an image (name, kind, format, sha256); it stays `pending` until PUT /v1/images/{id}/content delivers content with that sha256.',
    auth: 'user',
    body: CreateImageBody,
    response: Image,
    status: 201,
    errors: ['VALIDATION_FAILED', 'IMAGE_NAME_TAKEN'],
  }),
  uploadImageContent: def({
    ...base,
    method: 'PUT',
    path: '/v1/images/:id/content',
    summary:
      "Upload a pending image's content (raw body, application/octet-stream), streamed to disk and hashed on the way; refused unless it matches the declared sha256 (and size). Nothing is kept on failure; the image stays pending so the upload can be retried.",
    auth: 'user',
    response: Image,
    raw: { consumes: ['application/octet-stream'] },
    status: 200,
    errors: [
      'IMAGE_NOT_FOUND',
      'IMAGE_NOT_PENDING',
      'IMAGE_CHECKSUM_MISMATCH',
      'IMAGE_FORMAT_INVALID',
      'PAYLOAD_TOO_LARGE',
    ],
  }),
  downloadImageContent: def({
    ...base,
    method: 'GET',
    path: '/v1/images/:id/content',
    summary:
      "Download an image's content (application/octet-stream; header x-hearth-sha256). Agents use it, with their agent token, to fetch images they lack.",
    auth: 'user-or-agent',
    response: null,
    raw: { produces: ['application/octet-stream'] },
    status: 200,
    errors: ['IMAGE_NOT_FOUND', 'IMAGE_NOT_READY'],
  }),
  importImage: def({
    tag: 'images',
    method: 'POST',
    path: '/v1/images/import',
    summary:
      'Import an image from an OCI registry (skopeo + umoci + mke2fs -d), an http(s) URL, or a host path (when the manager allows it). A registry image already imported at the same digest is reused. `stream: true` answers with NDJSON ImportEvent progress lines.',
    auth: 'user',
    body: ImportImageBody,
    response: Image,
    raw: { produces: ['application/json', 'application/x-ndjson'] },
    status: 201,
    errors: IMPORT_ERR,
  }),
  deleteImage: def({
    ...base,
    method: 'DELETE',
    path: '/v1/images/:id',
    summary: 'Delete an image and its content. Refused while a VM uses it, and for built-in images.',
    auth: 'user',
    response: Image,
    status: 200,
    errors: ['IMAGE_NOT_FOUND', 'IMAGE_IN_USE'],
  }),
} as const;
