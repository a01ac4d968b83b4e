// Envoy header-map semantics (host-behaviour §6.F): cpp-host passes key bytes through; Envoy lower-cases keys on every
// operation (LowerCaseString), get returns the first value, remove removes all, replace = setCopy (replace all
// or append), add = addCopy (append a duplicate), size = byteSize(), and pseudo-headers stay in front.
import type { Pairs } from "./types.js";

const utf8 = new TextEncoder();

/** ASCII-only lower-casing, as Envoy's LowerCaseString. */
export function lowerKey(k: string): string {
  return k.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

export type HeaderInit = HeaderMap | Pairs | Record<string, string | string[]> | undefined;

export class HeaderMap {
  private list: Pairs = [];

  constructor(init?: HeaderInit) {
    if (init instanceof HeaderMap) this.list = init.entries();
    else if (Array.isArray(init)) for (const [k, v] of init) this.add(k, v);
    else if (init) for (const [k, v] of Object.entries(init)) for (const one of Array.isArray(v) ? v : [v]) this.add(k, one);
  }

  /** Number of entries (what Envoy passes as num_headers to on_request_headers). */
  get size(): number {
    return this.list.length;
  }

  /** Envoy byteSize(): sum of key and value byte lengths. */
  get byteSize(): number {
    let n = 0;
    for (const [k, v] of this.list) n += utf8.encode(k).length + utf8.encode(v).length;
    return n;
  }

  get(key: string): string | undefined {
    const k = lowerKey(key);
    return this.list.find(([x]) => x === k)?.[1];
  }

  getAll(key: string): string[] {
    const k = lowerKey(key);
    return this.list.filter(([x]) => x === k).map(([, v]) => v);
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  add(key: string, value: string): void {
    const k = lowerKey(key);
    if (k.startsWith(":")) {
      // Pseudo-headers are kept ahead of regular headers.
      let i = 0;
      while (i < this.list.length && this.list[i]![0].startsWith(":")) i++;
      this.list.splice(i, 0, [k, value]);
    } else this.list.push([k, value]);
  }

  /** setCopy: replaces the first entry's value in place and drops the others, or appends. */
  replace(key: string, value: string): void {
    const k = lowerKey(key);
    const i = this.list.findIndex(([x]) => x === k);
    if (i < 0) {
      this.add(k, value);
      return;
    }
    this.list[i] = [k, value];
    this.list = this.list.filter(([x], j) => x !== k || j === i);
  }

  remove(key: string): void {
    const k = lowerKey(key);
    this.list = this.list.filter(([x]) => x !== k);
  }

  setPairs(pairs: Pairs): void {
    this.list = [];
    for (const [k, v] of pairs) this.add(k, v);
  }

  entries(): Pairs {
    return this.list.map(([k, v]) => [k, v]);
  }

  /** A plain object; repeated keys are comma-joined (what request.headers exposes too). */
  toObject(): Record<string, string> {
    const o: Record<string, string> = {};
    for (const [k, v] of this.list) o[k] = k in o ? `${o[k]},${v}` : v;
    return o;
  }

  clone(): HeaderMap {
    return new HeaderMap(this);
  }
}
