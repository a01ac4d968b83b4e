// Envoy stats tag extraction for the filter's labels, defined once and used by the toolkit (Envoy `stats_tags`,
// Istio `extraStatTags`) and by the local host (so `npm start` and the tests export what a mesh would).
//
// How Envoy extracts tags (source/common/stats/tag_extractor_impl.cc, envoyproxy/envoy commit
// 00a0ba12beee82c38fa728876af49e0ef02c5877): every extractor is run on the full stat name (`wasmcustom.<name>`);
// a regex must match with at least one capture group; group 1 is cut out of the name, group 2 (or group 1 if there
// is none) is the tag value. Cuts from all extractors are applied together to give the tag-extracted name.
//
// Why this exact form: Istio builds one stats_tags entry per `extraStatTags` name with the regex
// `(<tag>=\.=(.*?);\.;)` (istio/istio tools/packaging/common/envoy_bootstrap.json, same in 1.24.6 734e100e and
// master 86c9f01f), so names written as `<tag>=.=<value>;.;` get their labels in an Istio mesh from
// `extraStatTags` alone — no bootstrap override. Istio's other stats_tags are unanchored (e.g. `(cache\.(.+?)\.)`),
// which is why dotted `pool.<p>.` segments would be mangled by a pool named `…cache`; this form is not.
import { METRICS, type Label } from "./metrics.js";

/** Every label any filter metric carries, in first-use order. */
export const STAT_TAGS: readonly Label[] = [...new Set(METRICS.flatMap((m) => m.labels))];

export interface TagSpecifier {
  tag_name: string;
  regex: string;
}

/** Envoy `stats_config.stats_tags` entries, byte-for-byte what Istio generates for `extraStatTags`. */
export function tagSpecifiers(): TagSpecifier[] {
  return STAT_TAGS.map((t) => ({ tag_name: t, regex: `(${t}=\\.=(.*?);\\.;)` }));
}

export interface ExtractedStat {
  name: string;
  tags: Array<[string, string]>;
}

const regexes = new Map<string, RegExp>();
function compiled(regex: string): RegExp {
  let r = regexes.get(regex);
  if (!r) regexes.set(regex, (r = new RegExp(regex, "d"))); // no `g`: exec keeps no state between names
  return r;
}

/** Envoy's extraction applied to one stat name (JS RegExp stands in for RE2: the patterns use no RE2-only syntax). */
export function extractTags(statName: string, specs: readonly TagSpecifier[]): ExtractedStat {
  const cut: Array<[number, number]> = [];
  const tags: Array<[string, string]> = [];
  for (const s of specs) {
    const m = compiled(s.regex).exec(statName);
    if (!m || m.length < 2 || !m[1]) continue;
    const [start, end] = m.indices![1]!;
    tags.push([s.tag_name, m[2] !== undefined && m[2] !== "" ? m[2] : m[1]]);
    cut.push([start, end]);
  }
  if (!cut.length) return { name: statName, tags };
  cut.sort((a, b) => a[0] - b[0]);
  let name = "";
  let at = 0;
  for (const [s, e] of cut) {
    if (s > at) name += statName.slice(at, s);
    at = Math.max(at, e);
  }
  return { name: name + statName.slice(at), tags };
}
