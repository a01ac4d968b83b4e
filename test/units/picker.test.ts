// The picker alone (test/units/picker.ts → build/units/picker.wasm): decisions on load records the test writes
// into a shared-data stub with the load record's codec (src/shared/load-record.ts). Saturation, staleness,
// fallback levels, shedding, ejection and the scorers, without a filter around them.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { instantiate, type Imports } from "@assemblyscript/loader";
import { decodeLoadRecord, withHeaderFields } from "../../src/shared/load-record.js";

const wasmPath = join(import.meta.dirname, "..", "..", "build", "units", "picker.wasm");
const T0 = 1_700_000_000_000;

/** proxy_get/set_shared_data with Envoy's CAS semantics, over the module's memory. */
class SharedStub {
  data = new Map<string, { value: Uint8Array; cas: number }>();
  private nextCas = 1;
  ex: any;
  mem = () => new Uint8Array((this.ex.memory as WebAssembly.Memory).buffer);
  key = (p: number, n: number) => Buffer.from(this.mem().subarray(p, p + n)).toString("latin1");
  imports(): Imports {
    return {
      env: {
        proxy_log: () => 0,
        proxy_get_shared_data: (kp: number, kn: number, outPtr: number, outLen: number, casPtr: number) => {
          const e = this.data.get(this.key(kp, kn));
          if (!e) return 1; // NotFound
          const p = this.ex.malloc(e.value.length) as number;
          this.mem().set(e.value, p);
          const v = new DataView((this.ex.memory as WebAssembly.Memory).buffer);
          v.setUint32(outPtr, p, true);
          v.setUint32(outLen, e.value.length, true);
          v.setUint32(casPtr, e.cas, true);
          return 0;
        },
        proxy_set_shared_data: (kp: number, kn: number, vp: number, vn: number, cas: number) => {
          const k = this.key(kp, kn);
          const e = this.data.get(k);
          if (cas !== 0 && e && e.cas !== cas) return 8; // CasMismatch
          this.data.set(k, { value: this.mem().slice(vp, vp + vn), cas: this.nextCas++ });
          return 0;
        },
      },
      wasi_snapshot_preview1: { random_get: () => 1 }, // no randomness: seeded from configure()'s seed
    } as unknown as Imports;
  }
  /** Sets fields of a load record. */
  set(key: string, fields: Record<string, number>): void {
    const e = this.data.get(key)!;
    this.data.set(key, { value: withHeaderFields(e.value, fields), cas: this.nextCas++ });
  }
}

let stub: SharedStub;
let ex: any;

async function load(): Promise<void> {
  stub = new SharedStub();
  const mod = await instantiate(readFileSync(wasmPath), stub.imports());
  ex = mod.exports;
  stub.ex = ex;
  ex._start();
}

function str(fn: (...a: any[]) => number, s: string, ...rest: unknown[]): string {
  const p = ex.__pin(ex.__newString(s));
  try {
    return ex.__getString(fn(p, ...rest));
  } finally {
    ex.__unpin(p);
  }
}

function configure(cfg: object): void {
  expect(str(ex.configure, JSON.stringify(cfg), 7n)).toBe("");
}
const pick = (model = "m", priority = 0, now = T0) => str(ex.pick, model, priority, BigInt(now));
const hold = (name: string, n: number) => {
  const p = ex.__pin(ex.__newString(name));
  try {
    return ex.hold(p, n);
  } finally {
    ex.__unpin(p);
  }
};
const key = (pool: string, up: string) => `inference-router/load/${pool}/${up}`;
const report = (pool: string, up: string, r: { queue?: number; kv?: number; atMs?: number; running?: number }) =>
  stub.set(key(pool, up), {
    queue: r.queue ?? 0,
    kvCache: r.kv ?? 0,
    reportedAtMs: r.atMs ?? T0,
    running: r.running ?? -1,
    sentSinceReport: 0,
  });

const twoPools = {
  pools: [
    { name: "a", models: ["m"], fallback: "b", maxInFlight: 2 },
    { name: "b", models: ["m"] },
  ],
};

describe("picker alone", () => {
  beforeEach(load);

  it("picks the primary pool when idle and counts nothing by itself (the filter accounts)", () => {
    configure(twoPools);
    expect(pick()).toBe("picked a");
    expect(decodeLoadRecord(stub.data.get(key("a", "a"))!.value).inFlight).toBe(0);
  });

  it("held requests at maxInFlight saturate: the fallback level takes over", () => {
    configure(twoPools);
    hold("a", 2);
    expect(pick()).toBe("picked b fallback");
  });

  it("sends since a report weigh in the score but never saturate by themselves", () => {
    configure(twoPools);
    report("a", "a", { queue: 0 });
    stub.set(key("a", "a"), { sentSinceReport: 100 });
    expect(pick()).toBe("picked a");
    report("a", "a", { queue: 8 });
    expect(pick()).toBe("picked b fallback");
  });

  it("all saturated: below the shedding priority 429, at or above it the least loaded", () => {
    configure(twoPools);
    report("a", "a", { queue: 9 });
    report("b", "b", { queue: 20 });
    expect(pick("m", -1)).toBe("shed");
    expect(pick("m", 0)).toBe("picked a saturated");
  });

  it("stale everywhere: fail open on local in-flight counts", () => {
    configure({ pools: [{ name: "a", models: ["m"], endpoints: ["10.0.0.1:80", "10.0.0.2:80"] }], steering: "endpoint" });
    report("a", "10.0.0.1:80", { atMs: T0 - 60_000 });
    report("a", "10.0.0.2:80", { atMs: T0 - 60_000 });
    hold("10.0.0.1:80", 1);
    expect(pick()).toBe("picked 10.0.0.2:80 stale");
  });

  it("ejected upstreams are out; none healthy is no-healthy", () => {
    configure(twoPools);
    stub.set(key("a", "a"), { ejectedUntilMs: T0 + 1000 });
    expect(pick()).toBe("picked b fallback");
    stub.set(key("b", "b"), { ejectedUntilMs: T0 + 1000 });
    expect(pick()).toBe("no-healthy");
  });

  it("the scorers: queue and KV weights move the pick; between idle upstreams the larger capacity wins", () => {
    configure({
      steering: "endpoint",
      pools: [
        { name: "fast", models: ["m"], weight: 3, endpoints: ["10.0.0.1:80"] },
        { name: "slow", models: ["m"], weight: 1, endpoints: ["10.0.0.2:80"] },
      ],
    });
    expect(pick().split(" ").slice(0, 2).join(" ")).toBe("picked 10.0.0.1:80");
    report("fast", "10.0.0.1:80", { queue: 4 }); // (4·2 + 1)/3 = 3 against 1
    expect(pick().split(" ")[1]).toBe("10.0.0.2:80");
    report("fast", "10.0.0.1:80", { queue: 0, kv: 0.5 }); // 1/3 + 0.5·4 = 2.33 against 1
    expect(pick().split(" ")[1]).toBe("10.0.0.2:80");
    report("fast", "10.0.0.1:80", { queue: 0, kv: 0.1 }); // 0.73 against 1
    expect(pick().split(" ")[1]).toBe("10.0.0.1:80");
  });

  it("learned capacity: with no weight, completions per in-flight ms set the capacity; a weight overrides it", async () => {
    const pools = (w: object) => ({
      steering: "endpoint",
      pools: [
        { name: "fast", models: ["m"], ...w, endpoints: ["10.0.0.1:80"] },
        { name: "slow", models: ["m"], ...w, endpoints: ["10.0.0.2:80"] },
      ],
    });
    const learned = () => {
      // 50 completions in 5 s of one request in flight (100 ms each) against 10 (500 ms each).
      stub.set(key("fast", "10.0.0.1:80"), { capacityCompletions: 50, capacityExposureMs: 5000, capacityAtMs: T0 });
      stub.set(key("slow", "10.0.0.2:80"), { capacityCompletions: 10, capacityExposureMs: 5000, capacityAtMs: T0 });
    };
    configure(pools({}));
    learned();
    pick(); // the first reads learn the mean rate
    // Relative capacities (c + 2) / (e·mean + 2): fast 2.13, slow 0.49 (geometric mean rate 1/224 ms).
    hold("10.0.0.1:80", 8); // (8·0.25 + 1) / 2.13 = 1.41 against 1 / 0.49 = 2.03
    expect(pick().split(" ")[1]).toBe("10.0.0.1:80");
    hold("10.0.0.1:80", 12); // (20·0.25 + 1) / 2.13 = 2.8
    expect(pick().split(" ")[1]).toBe("10.0.0.2:80");
    // Equal weights: nothing learned counts; 8 in flight on fast is enough to prefer the idle slow one.
    await load();
    configure(pools({ weight: 1 }));
    learned();
    pick();
    hold("10.0.0.1:80", 8);
    expect(pick().split(" ")[1]).toBe("10.0.0.2:80");
  });

  it("learned capacity: a long-idle upstream's evidence fades back to the mean; hostile sums read as nothing learned", () => {
    configure({
      steering: "endpoint",
      pools: [
        { name: "fast", models: ["m"], endpoints: ["10.0.0.1:80"] },
        { name: "slow", models: ["m"], endpoints: ["10.0.0.2:80"] },
        { name: "odd", models: ["m"], endpoints: ["10.0.0.3:80"] },
      ],
    });
    stub.set(key("fast", "10.0.0.1:80"), { capacityCompletions: 50, capacityExposureMs: 5000, capacityAtMs: T0 });
    stub.set(key("slow", "10.0.0.2:80"), { capacityCompletions: 10, capacityExposureMs: 5000, capacityAtMs: T0 });
    stub.set(key("odd", "10.0.0.3:80"), { capacityCompletions: NaN, capacityExposureMs: -1, capacityAtMs: T0 });
    hold("10.0.0.1:80", 4);
    hold("10.0.0.3:80", 1);
    pick();
    // Fresh: fast with 4 in flight (2/2.13 = 0.94) beats odd at the prior (1.25/1) and slow (2.03).
    expect(pick().split(" ")[1]).toBe("10.0.0.1:80");
    // Ten half-lives later (and nothing completed since) every estimate is back near the mean: the idle slow
    // one (≈ 1) beats fast (4 in flight, now also 100 s of exposure without a completion) and odd (1.25).
    const later = T0 + 100_000;
    pick("m", 0, later);
    expect(pick("m", 0, later).split(" ")[1]).toBe("10.0.0.2:80");
    stub.set(key("slow", "10.0.0.2:80"), { capacityCompletions: Infinity, capacityExposureMs: 1e30, capacityAtMs: T0 + 1e15 });
    hold("10.0.0.2:80", 3);
    expect(pick("m", 0, later)).toMatch(/^picked /);
    // A time far in the future (garbage, not clock skew) is no evidence either: slow reads as the prior again.
    stub.set(key("slow", "10.0.0.2:80"), { capacityCompletions: 1, capacityExposureMs: 1e6, capacityAtMs: later + 3_600_000 });
    hold("10.0.0.2:80", -3);
    expect(pick("m", 0, later).split(" ")[1]).toBe("10.0.0.2:80");
  });
});
