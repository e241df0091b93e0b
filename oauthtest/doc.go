// Package oauthtest runs a local OAuth 2.0 authorization server for tests:
// start one with [NewServer], point the client under test at its URL, and
// steer it from the test (token lifetime, latency, injected failures,
// forced revocation) while its counters record what it was asked.
//
// The server speaks the flows written in the RFCs, strictly:
//
//   - the client credentials grant (RFC 6749 §4.4) and the refresh token
//     grant with rotation (RFC 6749 §6); replaying a rotated refresh token
//     revokes every token of its session, as strict servers do;
//   - the device authorization grant (RFC 8628) with an HTML approval page
//     at [Server.VerificationURL], or [Server.Approve] from the test;
//   - token revocation (RFC 7009) and introspection (RFC 7662);
//   - authorization server metadata (RFC 8414) at
//     /.well-known/oauth-authorization-server and, with the same content,
//     /.well-known/openid-configuration;
//   - a protected resource at [Server.ResourceURL] that accepts the bearer
//     tokens the server issued (RFC 6750).
//
// Clients authenticate with HTTP Basic (client_secret_basic) or in the
// body (client_secret_post); [WithAuthStyle] accepts only one of them, so a
// client's detection of the style can be tested. Clients registered with
// [WithClientKey] authenticate with a signed JWT (private_key_jwt,
// RFC 7523), and those registered with [WithClientCertificate] with a TLS
// client certificate on a server from [NewTLSServer] (RFC 8705), at every
// endpoint that authenticates clients: token, device authorization,
// revocation and introspection. Tokens issued over a connection with a
// certificate are bound to it. DPoP
// proofs (RFC 9449) are verified at the token endpoint and the resource,
// and bind the tokens; [WithDPoPNonce] makes the server require its
// nonce. Each check refuses with the error its RFC names. Errors are RFC 6749 §5.2
// JSON bodies, and every response carries Cache-Control: no-store.
//
// [New] returns the same server without a listener, as an [http.Handler],
// for serving on an address of one's own; "tokenactor serve" does that.
//
// The package needs only the standard library. Use it from tests: it keeps
// every token it issued in memory and its approval page has no protection
// against cross-site requests.
package oauthtest
