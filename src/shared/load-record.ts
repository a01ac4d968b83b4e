// The load record: what the filter keeps about each upstream in Envoy shared data (key `<name>/load/<pool>/<upstream>`),
// read and written by every worker VM with compare-and-swap. This table is the one definition of its layout:
// `npm run gen:config` generates the filter's codec from it (assembly/router/load-record.ts), and the TypeScript
// codec below (used by the tests to read what the .wasm wrote) walks the same table. Little-endian, as Wasm memory.
//
// After the header come `slotCount` in-flight slots (vmId u32, inFlight i32): in-flight counts are kept per worker
// VM, so a VM that traps (taking its streams' on_done with it) can be told apart and its slots dropped.
//
// The VM registry (key `<name>/vms`) is the other shared record: every worker VM heartbeats in it on each tick, and
// a VM silent for longer than the dead-after period is marked dead there (a tombstone), so readers of the load
// records skip its slots. Its layout is defined below too, with the same generated codec and test codec.

export type FieldType = "i32" | "u32" | "i64" | "f32";

export interface RecordField {
  name: string;
  type: FieldType;
  doc: string;
}

/** The header, in order; each field is aligned on its size (checked by the generator). */
export const LOAD_RECORD_HEADER: readonly RecordField[] = [
  { name: "ejectedUntilMs", type: "i64", doc: "passive or poll ejection end (0 = not ejected)" },
  { name: "consecutiveErrors", type: "i32", doc: "current error run" },
  { name: "ejections", type: "i32", doc: "ejections in a row (backoff exponent)" },
  { name: "queue", type: "f32", doc: "server-reported queue depth" },
  { name: "kvCache", type: "f32", doc: "server-reported KV-cache use 0..1" },
  { name: "reportedAtMs", type: "i64", doc: "time of the last report (0 = never reported)" },
  { name: "sentSinceReport", type: "i32", doc: "requests this proxy sent since that report (anti-herding)" },
  { name: "running", type: "f32", doc: "server-reported running requests (all clients); -1 = not reported" },
  { name: "slotCount", type: "i32", doc: "in-flight slots that follow the header" },
  { name: "capacityCompletions", type: "f32", doc: "learned capacity: 2xx completions, exponentially forgotten (capacity.halfLifeMs)" },
  { name: "capacityAtMs", type: "i64", doc: "time both learned-capacity sums were last brought up to date (0 = never)" },
  { name: "capacityExposureMs", type: "f32", doc: "learned capacity: in-flight requests × ms, forgotten at the same pace" },
  { name: "pad", type: "i32", doc: "(keeps the slots 8-byte aligned)" },
];

/** One in-flight slot. */
export const LOAD_RECORD_SLOT: readonly RecordField[] = [
  { name: "vmId", type: "u32", doc: "worker VM owning the slot" },
  { name: "inFlight", type: "i32", doc: "requests in flight from that VM" },
];

/** Slots a record holds at most. */
export const LOAD_RECORD_MAX_SLOTS = 32;

/** The VM registry's header. */
export const VM_REGISTRY_HEADER: readonly RecordField[] = [
  { name: "count", type: "i32", doc: "entries that follow the header" },
  { name: "pad", type: "i32", doc: "(keeps the entries 8-byte aligned)" },
];

/** One VM of the registry. */
export const VM_REGISTRY_ENTRY: readonly RecordField[] = [
  { name: "vmId", type: "u32", doc: "worker VM (the id its in-flight slots carry)" },
  { name: "dead", type: "u32", doc: "1 once silent for the dead-after period (a tombstone), else 0" },
  { name: "lastSeenMs", type: "i64", doc: "time of its last heartbeat" },
];

/** VMs the registry holds at most. */
export const VM_REGISTRY_MAX_ENTRIES = 64;

const SIZE: Record<FieldType, number> = { i32: 4, u32: 4, i64: 8, f32: 4 };

export interface Laid extends RecordField {
  offset: number;
  size: number;
}

/** Fields with their offsets; throws on a misaligned field. */
export function layout(fields: readonly RecordField[]): { fields: Laid[]; bytes: number } {
  let off = 0;
  const out: Laid[] = [];
  for (const f of fields) {
    const size = SIZE[f.type];
    if (off % size !== 0) throw new Error(`load record: ${f.name} at ${off} is not aligned on ${size}`);
    out.push({ ...f, offset: off, size });
    off += size;
  }
  return { fields: out, bytes: off };
}

export const HEADER = layout(LOAD_RECORD_HEADER);
export const SLOT = layout(LOAD_RECORD_SLOT);
export const VM_HEADER = layout(VM_REGISTRY_HEADER);
export const VM_ENTRY = layout(VM_REGISTRY_ENTRY);

export interface LoadRecord extends Record<string, unknown> {
  ejectedUntilMs: number;
  consecutiveErrors: number;
  ejections: number;
  queue: number;
  kvCache: number;
  reportedAtMs: number;
  sentSinceReport: number;
  running: number;
  slotCount: number;
  capacityCompletions: number;
  capacityAtMs: number;
  capacityExposureMs: number;
  slots: Array<{ vmId: number; inFlight: number }>;
  /** Sum of the slots' in-flight counts. */
  inFlight: number;
}

function get(v: DataView, f: Laid, base = 0): number {
  switch (f.type) {
    case "i32":
      return v.getInt32(base + f.offset, true);
    case "u32":
      return v.getUint32(base + f.offset, true);
    case "i64":
      return Number(v.getBigInt64(base + f.offset, true));
    case "f32":
      return v.getFloat32(base + f.offset, true);
  }
}

function set(v: DataView, f: Laid, value: number, base = 0): void {
  switch (f.type) {
    case "i32":
      return v.setInt32(base + f.offset, value, true);
    case "u32":
      return v.setUint32(base + f.offset, value, true);
    case "i64":
      return v.setBigInt64(base + f.offset, BigInt(Math.trunc(value)), true);
    case "f32":
      return v.setFloat32(base + f.offset, value, true);
  }
}

const field = (name: string) => HEADER.fields.find((f) => f.name === name)!;

/** Decodes a record as stored in shared data. */
export function decodeLoadRecord(bytes: Uint8Array): LoadRecord {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Record<string, unknown> = {};
  for (const f of HEADER.fields) if (f.name !== "pad") out[f.name] = get(v, f);
  const n = Math.max(0, Math.min(out.slotCount as number, Math.floor((bytes.byteLength - HEADER.bytes) / SLOT.bytes)));
  const slots = [];
  for (let i = 0; i < n; i++) {
    const base = HEADER.bytes + i * SLOT.bytes;
    slots.push({ vmId: get(v, SLOT.fields[0]!, base), inFlight: get(v, SLOT.fields[1]!, base) });
  }
  return { ...out, slots, inFlight: slots.reduce((s, x) => s + x.inFlight, 0) } as LoadRecord;
}

/** A copy of `bytes` with some header fields replaced. */
export function withHeaderFields(bytes: Uint8Array, values: Partial<Record<string, number>>): Uint8Array {
  const buf = bytes.slice();
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  for (const [k, value] of Object.entries(values)) {
    const f = field(k);
    if (!f) throw new Error(`load record: no field ${k}`);
    set(v, f, value!);
  }
  return buf;
}

export interface VmRegistry {
  count: number;
  vms: Array<{ vmId: number; dead: boolean; lastSeenMs: number }>;
}

/** Decodes the VM registry as stored in shared data (entries beyond the bytes present are left out). */
export function decodeVmRegistry(bytes: Uint8Array): VmRegistry {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const at = (l: { fields: Laid[] }, name: string) => l.fields.find((f) => f.name === name)!;
  const count = bytes.byteLength >= VM_HEADER.bytes ? get(v, at(VM_HEADER, "count")) : 0;
  const n = Math.max(0, Math.min(count, Math.floor((bytes.byteLength - VM_HEADER.bytes) / VM_ENTRY.bytes)));
  const vms = [];
  for (let i = 0; i < n; i++) {
    const base = VM_HEADER.bytes + i * VM_ENTRY.bytes;
    vms.push({
      vmId: get(v, at(VM_ENTRY, "vmId"), base),
      dead: get(v, at(VM_ENTRY, "dead"), base) !== 0,
      lastSeenMs: get(v, at(VM_ENTRY, "lastSeenMs"), base),
    });
  }
  return { count, vms };
}
