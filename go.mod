module github.com/tokenactor/tokenactor

go 1.25.0

require (
	github.com/benbjohnson/clock v1.3.5
	github.com/gofrs/flock v0.13.0
	github.com/google/go-cmp v0.7.0
	go.uber.org/goleak v1.3.0
	golang.org/x/oauth2 v0.36.0
)

require golang.org/x/sys v0.37.0 // indirect
