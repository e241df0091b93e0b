// Package integration tests package strategy against a real OAuth 2.0
// server library (github.com/go-oauth2/oauth2/v4) run in-process on
// loopback. It is a separate module so the server library stays out of
// tokenactor's own dependencies.
package integration
