// Package strategy gets OAuth 2.0 access tokens for a program and keeps them
// fresh: make a strategy from credentials, call Get whenever a token is
// needed, Close it when done. For a service, client credentials
// ([NewAccessKey]); for a user, a saved refresh-token session ([NewOAuth])
// made by a device-code login ([NewDeviceCode]); to use whichever
// credentials are present, [NewAuto]; for tests and glue, [NewStatic] and
// [Func].
//
// Every caching strategy is one [tokenactor.Cache] with a Refresher of its
// own, so the refresh model, backoff and shutdown of the engine apply. All
// strategies implement [tokenactor.AuthStrategy] and have a Close method.
// Package httpauth sends their tokens with HTTP requests; package
// oauth2adapt hands them to code written for golang.org/x/oauth2; package
// store shares one token among the replicas of a service, around the
// refresher [AccessKeyConfig.Refresher] returns.
//
// # Requests and endpoints
//
// Each config takes the parameters a server may need on its token
// requests: Scopes, Audience, Resource (RFC 8707) and EndpointParams for the
// rest. AuthStyle says how a client secret is sent; [AuthStyleDetect] finds
// out. Instead of each endpoint URL a config may name the server's Issuer:
// its endpoints are then read from its metadata (RFC 8414 or OpenID Connect
// discovery, see [Discovery]). [Revoke] and [Introspect] call the
// revocation (RFC 7009) and introspection (RFC 7662) endpoints.
//
// # Errors
//
// The token endpoint's refusals (RFC 6749 §5.2) are an [*OAuthError];
// answers that are not OAuth errors (an HTML 502 page) are an [*HTTPError];
// a success answer that cannot be used (no access_token, an absurd
// lifetime, a body over 1 MiB) is an [*InvalidResponseError]; no answer at
// all (connection refused, timeout) is a [*NetworkError]. Callers branch on
// two sentinels with errors.Is:
//
//   - [ErrLoginRequired]: the credentials or the session were refused
//     (invalid_grant, invalid_client, ...). Retrying will not help; log in
//     again or fix the configuration.
//   - [ErrTemporary]: the network failed, or the server is down or busy
//     (5xx, 429). Try later; the engine's backoff does, honouring
//     Retry-After (see [OAuthError.RetryAfter]).
//
// An error that matches neither is a configuration or server bug
// (invalid_scope, a malformed answer).
//
// No error, String, GoString or JSON output of this package contains a client
// secret, an access token, a refresh token or a device code.
//
// # Keys instead of secrets
//
// A client can authenticate with a private key ([ClientKey],
// private_key_jwt, RFC 7523) or a TLS client certificate
// ([AccessKeyConfig.TLSClientAuth], [NewMTLSClient], RFC 8705) instead of
// a secret, at the token endpoint and, through [EndpointConfig], at the
// revocation and introspection endpoints; and the strategies can ask for
// DPoP-bound tokens ([AccessKeyConfig.DPoPKey], RFC 9449), which httpauth
// sends with a proof per request. Private keys never appear in any output either.
// docs/production-auth.md describes each, and why DPoP strategies are not
// shared by a fleet ([ErrDPoPShared]).
//
// # Time
//
// The token endpoint's expires_in is relative; it is turned into an absolute
// ExpiresAt once, when the answer is received, with the strategy's clock.
// The strategy and its cache read the same clock: a config's Clock field,
// which is then also handed to the cache, else the system clock. So
// fake-clock tests work end to end when they set Clock.
package strategy
