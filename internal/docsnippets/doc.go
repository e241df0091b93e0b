// Package docsnippets holds the tests that keep the documentation honest:
// every Go snippet in README.md and docs/*.md compiles, the snippets that
// are tests pass, the README's three programs run (the fleet recipe as two
// replicas against a real redis-server), relative links resolve, and the
// tests the text names exist. It has no code of its own.
//
// # Writing snippets
//
// A ```go block that starts with a package clause is a complete file and is
// built as it is, in a package of its own. Any other block is a fragment:
// declarations are put into a file of their own (a _test.go file, run with
// go test, if they declare a TestX function), statements into the body of
// a function
//
//	func snippet(ctx context.Context) error
//
// which returns nil after the last statement unless that statement is a
// return. Imports are added for the packages a fragment names (tokenactor,
// strategy, store, redisstore, httpauth, oauth2adapt, oauthtest, fakeclock,
// redis, oauth2, clientcredentials, clock, tokenotel and OpenTelemetry's
// metric and trace in module otel, and the usual standard library packages).
//
// An HTML comment right before a block says more about it:
//
//	<!-- snippet name=fleet
//	var rdb *redis.Client
//	-->
//
// The first line may give the snippet a name (name=fleet: the test that runs
// the README's fleet recipe finds it by that name) and the directory of the
// Go module to build it in (module=otel, for a module of its own; the root
// module by default). The lines after it are Go declarations put beside the
// snippet, for names the text has introduced before (a variable, a function
// of the reader's). The comment does not show on a rendered page.
package docsnippets
