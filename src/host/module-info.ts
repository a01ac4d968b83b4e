// Reads the type, import, function and export sections of a wasm binary. The JS API does not expose import or
// export signatures, but cpp-host checks both (strict link, "Bad function signature"), so we parse them.

export interface FuncSig {
  params: string;
  results: string;
} // e.g. params "iiI" (i=i32, I=i64, f, F), results "i"
export interface ModuleInfo {
  imports: Array<{ module: string; name: string; kind: number; sig?: FuncSig }>;
  exports: Map<string, { kind: number; sig?: FuncSig }>;
  hasStartSection: boolean;
}

const VALTYPES: Record<number, string> = { 0x7f: "i", 0x7e: "I", 0x7d: "f", 0x7c: "F", 0x7b: "v", 0x70: "r", 0x6f: "x" };

export function readModuleInfo(bytes: Uint8Array): ModuleInfo {
  let pos = 8;
  const u32 = (): number => {
    let result = 0,
      shift = 0,
      b: number;
    do {
      b = bytes[pos++]!;
      result |= (b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80);
    return result >>> 0;
  };
  const name = (): string => {
    const n = u32();
    const s = new TextDecoder().decode(bytes.subarray(pos, pos + n));
    pos += n;
    return s;
  };
  const types: FuncSig[] = [];
  const funcTypes: number[] = []; // type index per function index (imports first)
  const info: ModuleInfo = { imports: [], exports: new Map(), hasStartSection: false };
  const rawExports: Array<[string, number, number]> = [];
  while (pos < bytes.length) {
    const id = bytes[pos++]!;
    const size = u32();
    const end = pos + size;
    if (id === 1) {
      for (let n = u32(); n > 0; n--) {
        pos++; // 0x60
        let p = "";
        for (let k = u32(); k > 0; k--) p += VALTYPES[bytes[pos++]!] ?? "?";
        let r = "";
        for (let k = u32(); k > 0; k--) r += VALTYPES[bytes[pos++]!] ?? "?";
        types.push({ params: p, results: r });
      }
    } else if (id === 2) {
      for (let n = u32(); n > 0; n--) {
        const module = name();
        const field = name();
        const kind = bytes[pos++]!;
        if (kind === 0) {
          const t = u32();
          funcTypes.push(t);
          info.imports.push({ module, name: field, kind, sig: types[t] });
        } else {
          info.imports.push({ module, name: field, kind });
          if (kind === 1) {
            pos++;
            const f = u32();
            u32();
            if (f & 1) u32();
          } else if (kind === 2) {
            const f = u32();
            u32();
            if (f & 1) u32();
          } else if (kind === 3) {
            pos += 2;
          } else if (kind === 4) {
            pos++;
            u32();
          }
        }
      }
    } else if (id === 3) {
      for (let n = u32(); n > 0; n--) funcTypes.push(u32());
    } else if (id === 7) {
      for (let n = u32(); n > 0; n--) {
        const nm = name();
        const kind = bytes[pos++]!;
        rawExports.push([nm, kind, u32()]);
      }
    } else if (id === 8) {
      info.hasStartSection = true;
    }
    pos = end;
  }
  for (const [nm, kind, idx] of rawExports) {
    const t = kind === 0 ? funcTypes[idx] : undefined;
    info.exports.set(nm, { kind, sig: t === undefined ? undefined : types[t] });
  }
  return info;
}

export function sigString(s: FuncSig | undefined): string {
  return s ? `(${s.params})->(${s.results})` : "?";
}
