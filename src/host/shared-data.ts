// Shared data and shared queues (cpp-host shared_data.cc / shared_queue.cc). One store models one Envoy process:
// a table per vm_id, a single CAS counter starting at 1 and skipping 0, and queues keyed by (vm_id, name).
// Pass the same store to several proxies to model VMs that share a process.
import { WasmResult } from "./types.js";

interface Entry {
  value: Uint8Array;
  cas: number;
}

export interface QueueOwner {
  /** Delivers proxy_on_queue_ready to the registering VM's root (posted, never re-entrant). */
  notify(queueId: number): void;
}

interface Queue {
  vmId: string;
  name: string;
  items: Uint8Array[];
  owner: QueueOwner | undefined;
}

export class SharedDataStore {
  private tables = new Map<string, Map<string, Entry>>();
  private casCounter = 0;
  private queues = new Map<number, Queue>();
  private queueIds = new Map<string, number>();
  private nextQueueId = 1;

  private table(vmId: string): Map<string, Entry> {
    let t = this.tables.get(vmId);
    if (!t) this.tables.set(vmId, (t = new Map()));
    return t;
  }

  private nextCas(): number {
    this.casCounter = (this.casCounter + 1) >>> 0;
    if (this.casCounter === 0) this.casCounter = 1;
    return this.casCounter;
  }

  get(vmId: string, key: string): { value: Uint8Array; cas: number } | undefined {
    const e = this.table(vmId).get(key);
    return e ? { value: e.value.slice(), cas: e.cas } : undefined;
  }

  /** cas 0 = unconditional; a key that does not exist accepts any cas (cpp-host has no create-if-absent). */
  set(vmId: string, key: string, value: Uint8Array, cas: number): number {
    const t = this.table(vmId);
    const e = t.get(key);
    if (e && cas !== 0 && cas !== e.cas) return WasmResult.CasMismatch;
    t.set(key, { value: value.slice(), cas: this.nextCas() });
    return WasmResult.Ok;
  }

  /** Test helper: the keys and values of one vm_id table. */
  entries(vmId = ""): Record<string, string> {
    const o: Record<string, string> = {};
    for (const [k, e] of this.table(vmId)) o[k] = new TextDecoder().decode(e.value);
    return o;
  }

  registerQueue(vmId: string, name: string, owner: QueueOwner): number {
    const key = `${vmId}\0${name}`;
    let id = this.queueIds.get(key);
    if (id === undefined) {
      id = this.nextQueueId++;
      this.queueIds.set(key, id);
      this.queues.set(id, { vmId, name, items: [], owner });
    } else this.queues.get(id)!.owner = owner; // the latest registrar receives on_queue_ready
    return id;
  }

  resolveQueue(vmId: string, name: string): number | undefined {
    return this.queueIds.get(`${vmId}\0${name}`);
  }

  enqueue(id: number, value: Uint8Array): number {
    const q = this.queues.get(id);
    if (!q) return WasmResult.NotFound;
    q.items.push(value.slice());
    q.owner?.notify(id);
    return WasmResult.Ok;
  }

  dequeue(id: number): { status: number; value?: Uint8Array } {
    const q = this.queues.get(id);
    if (!q) return { status: WasmResult.NotFound };
    const v = q.items.shift();
    return v ? { status: WasmResult.Ok, value: v } : { status: WasmResult.Empty };
  }
}
