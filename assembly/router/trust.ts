// Trust by identity, not by header: the model-override and client-priority headers are honoured only when the
// downstream connection's mTLS peer is one of headers.trustedPeers. The identity is the first URI SAN of the
// peer certificate, which Envoy exposes to Wasm as the `connection.uri_san_peer_certificate` property
// (envoyproxy/envoy source/extensions/filters/common/expr/context.cc@00ab8ce9: ConnectionWrapper falls back to
// the SSL extractors, URISanPeerCertificate = uriSanPeerCertificate()[0]; absent without a peer certificate).
// In Istio that SAN is the SPIFFE id spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>.
import { getPropertyString, propertyPath } from "../runtime/host";

const P_PEER_URI_SAN = propertyPath(["connection", "uri_san_peer_certificate"]);

/** The peer's SPIFFE principal, or "" without mTLS (plain text, or a TLS client without a certificate). */
export function peerPrincipal(): string {
  const v = getPropertyString(P_PEER_URI_SAN);
  return v === null ? "" : v;
}

/** The namespace of an Istio SPIFFE id (`spiffe://<td>/ns/<ns>/sa/<sa>`, nothing more), or "". */
export function principalNamespace(p: string): string {
  if (!p.startsWith("spiffe://")) return "";
  const td = p.indexOf("/", 9);
  if (td <= 9) return "";
  if (p.substr(td, 4) != "/ns/") return "";
  const nsStart = td + 4;
  const nsEnd = p.indexOf("/", nsStart);
  if (nsEnd <= nsStart || p.substr(nsEnd, 4) != "/sa/") return "";
  const sa = nsEnd + 4;
  if (sa >= p.length || p.indexOf("/", sa) >= 0) return "";
  return p.substring(nsStart, nsEnd);
}

/** True when `principal` matches an entry: "spiffe://…" exactly, or "ns:<namespace>" by its namespace. */
export function peerTrusted(principal: string, peers: Array<string>): bool {
  if (principal.length == 0 || peers.length == 0) return false;
  let ns: string | null = null;
  for (let i = 0; i < peers.length; i++) {
    const e = peers[i];
    if (e.startsWith("ns:")) {
      if (ns === null) ns = principalNamespace(principal);
      if (ns!.length > 0 && e.length - 3 == ns!.length && e.endsWith(ns!)) return true;
    } else if (e == principal) return true;
  }
  return false;
}
