import { HearthError, newId, type HostDrain, type HostInventory } from '@hearth/contract';
import { and, asc, eq, getTableColumns, inArray, lt, sql } from 'drizzle-orm';
import type { Db } from '../db/index.ts';
import { hosts, vms } from '../db/schema.ts';
import { diskAllocations } from './host-placement.ts';
import { Finder, selectRows, tableRows, upTo } from './lookup.ts';
import type { HostRow } from './mappers.ts';

/** VM states that hold a host's CPUs and memory. */
const ACTIVE = ['starting', 'running', 'pausing', 'paused', 'resuming', 'stopping'] as const;

const counted = (col: typeof vms.vcpus | typeof vms.memory_mib) =>
  sql<number>`sum(CASE WHEN ${inArray(vms.state, [...ACTIVE])} THEN ${col} ELSE 0 END)`;

export class HostStore {
  private readonly find: Finder<HostRow>;
  /** Host columns only: for calls to a host's agent, which need its address, not its VMs. */
  private readonly plain: Finder<HostRow>;
  private readonly placing: () => Promise<HostRow[]>;

  constructor(private readonly db: Db) {
    // Every read carries what is placed on the host, counted in the same statement.
    const alloc = this.db.orm
      .select({
        host_id: vms.host_id,
        vm_count: sql<number>`count(*)`.as('vm_count'),
        cpus: counted(vms.vcpus).as('cpus'),
        mem: counted(vms.memory_mib).as('mem'),
      })
      .from(vms)
      .groupBy(vms.host_id)
      .as('a');
    const disks = diskAllocations(this.db.orm);
    const fields = {
      ...getTableColumns(hosts),
      vm_count: sql<number>`COALESCE(${alloc.vm_count}, 0)`.mapWith(Number),
      alloc_vcpus: sql<number>`COALESCE(${alloc.cpus}, 0)`.mapWith(Number),
      alloc_mem: sql<number>`COALESCE(${alloc.mem}, 0)`.mapWith(Number),
      alloc_disk: sql<number>`COALESCE(${disks.mib}, 0)`.mapWith(Number),
    };
    this.find = new Finder<HostRow>(
      hosts,
      selectRows((where, order, limit) =>
        upTo(
          this.db.orm
            .select(fields)
            .from(hosts)
            .leftJoin(alloc, eq(alloc.host_id, hosts.id))
            .leftJoin(disks, eq(disks.host_id, hosts.id))
            .where(where)
            .orderBy(...order)
            .$dynamic(),
          limit,
        ),
      ),
      (idOrName) =>
        new HearthError('HOST_NOT_FOUND', `Finding host "${idOrName}" failed: no host has that id or name.`),
    );
    this.plain = new Finder<HostRow>(
      hosts,
      tableRows(this.db.orm, hosts),
      (id) => new HearthError('HOST_NOT_FOUND', `Finding host "${id}" failed: no host has that id or name.`),
    );
    // What placement needs: only the VMs that hold CPUs and memory (index vms_host_active), not
    // every VM ever recorded, which `vm_count` would count on each create.
    const active = this.db.orm
      .select({
        host_id: vms.host_id,
        cpus: sql<number>`sum(${vms.vcpus})`.as('cpus'),
        mem: sql<number>`sum(${vms.memory_mib})`.as('mem'),
        n: sql<number>`count(*)`.as('n'),
      })
      .from(vms)
      .where(inArray(vms.state, [...ACTIVE]))
      .groupBy(vms.host_id)
      .as('a');
    const placingFields = {
      ...getTableColumns(hosts),
      alloc_vcpus: sql<number>`COALESCE(${active.cpus}, 0)`.mapWith(Number),
      alloc_mem: sql<number>`COALESCE(${active.mem}, 0)`.mapWith(Number),
      alloc_count: sql<number>`COALESCE(${active.n}, 0)`.mapWith(Number),
      alloc_disk: sql<number>`COALESCE(${disks.mib}, 0)`.mapWith(Number),
    };
    this.placing = () =>
      this.db.orm
        .select(placingFields)
        .from(hosts)
        .leftJoin(active, eq(active.host_id, hosts.id))
        .leftJoin(disks, eq(disks.host_id, hosts.id))
        .orderBy(asc(hosts.id));
  }

  /**
   * A host row by name, inserted or replaced as it is (tests and benches); agents register through
   * HostCredentialStore, which checks who may use a name.
   */
  async upsert(name: string, url: string, callbackToken: string, inventory: HostInventory): Promise<HostRow> {
    const fresh = { url, callback_token: callbackToken, inventory, state: 'ready' as const };
    const rows = await this.db.orm
      .insert(hosts)
      .values({ id: newId('host'), name, ...fresh, last_heartbeat_at: sql`now()` })
      .onConflictDoUpdate({ target: hosts.name, set: { ...fresh, last_heartbeat_at: sql`now()` } })
      .returning();
    return rows[0]!;
  }

  /** The host's address and token as registered; null when no host has that id. */
  async heartbeat(
    id: string,
    inventory: HostInventory,
  ): Promise<Pick<HostRow, 'id' | 'url' | 'callback_token' | 'tls_pins'> | null> {
    const rows = await this.db.orm
      .update(hosts)
      // A host declared dead that speaks again is back (fenced by the caller), still cordoned.
      .set({ inventory, state: 'ready', dead_at: null, last_heartbeat_at: sql`now()` })
      .where(eq(hosts.id, id))
      .returning({
        id: hosts.id,
        url: hosts.url,
        callback_token: hosts.callback_token,
        tls_pins: hosts.tls_pins,
      });
    return rows[0] ?? null;
  }

  /**
   * At manager start nothing is known about any host: each is offline until its agent registers
   * or heartbeats to this process (its last address may be stale, its agent may be gone).
   */
  async markAllOffline(): Promise<void> {
    await this.db.orm.update(hosts).set({ state: 'offline' }).where(eq(hosts.state, 'ready'));
  }

  async markStale(olderThanMs: number): Promise<string[]> {
    const rows = await this.db.orm
      .update(hosts)
      .set({ state: 'offline' })
      .where(
        and(
          eq(hosts.state, 'ready'),
          lt(hosts.last_heartbeat_at, sql`now() - (${olderThanMs} * interval '1 millisecond')`),
        ),
      )
      .returning({ id: hosts.id });
    return rows.map((r) => r.id);
  }

  list(limit: number, cursor?: string) {
    return this.find.page({ limit, cursor });
  }

  all(): Promise<HostRow[]> {
    return this.find.all([asc(hosts.id)]);
  }

  /**
   * Every host with what its active VMs hold and the disks recorded on it (`alloc_*`), without
   * `vm_count`: for placement.
   */
  forPlacement(): Promise<HostRow[]> {
    return this.placing();
  }

  /**
   * By id, without what is placed on it (`vm_count`, `alloc_*` left undefined): for a call to
   * the host's agent on behalf of one VM, which would otherwise count every VM recorded.
   */
  requireForCall(id: string): Promise<HostRow> {
    return this.plain.requireUnscoped(id);
  }

  get(idOrName: string): Promise<HostRow | null> {
    return this.find.get(idOrName);
  }

  require(idOrName: string): Promise<HostRow> {
    return this.find.require(idOrName);
  }

  /** A drain's progress, replaced whole (services/vms/drain.ts). */
  async setDrain(id: string, drain: HostDrain): Promise<void> {
    await this.db.orm.update(hosts).set({ drain }).where(eq(hosts.id, id));
  }
}
