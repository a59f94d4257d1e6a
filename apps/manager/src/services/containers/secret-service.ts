import { HearthError, Name } from '@hearth/contract';
import type { Sealer } from '../../crypto/sealed.ts';
import type { Stores } from '../../store/index.ts';
import { secretFromRow } from '../../store/secrets.ts';

/** Project secrets: values sealed before they reach the database, never returned or logged. */
export class SecretService {
  constructor(
    private readonly stores: Stores,
    private readonly sealer: Sealer,
  ) {}

  async put(project: string, name: string, value: string) {
    if (!Name.safeParse(name).success) {
      throw new HearthError('VALIDATION_FAILED', `Storing secret "${name}" failed: not a valid name.`, {
        fields: { name: ['lower-case letters, digits and dashes, starting with a letter'] },
      });
    }
    return secretFromRow(await this.stores.secrets.put(project, name, this.sealer.seal(value)));
  }

  async list(q: { project: string; limit: number; cursor?: string | undefined }) {
    const page = await this.stores.secrets.list(q);
    return { items: page.items.map(secretFromRow), nextCursor: page.nextCursor };
  }

  async delete(project: string, name: string) {
    const row = await this.stores.secrets.get(project, name);
    if (!row) {
      throw new HearthError(
        'SECRET_NOT_FOUND',
        `Deleting secret "${name}" failed: the project has no such secret.`,
      );
    }
    await this.stores.secrets.delete(row.id);
    return secretFromRow(row);
  }
}
